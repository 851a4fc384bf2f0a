// Pins: the one place a pin (a bpffs object, or the symlink record of a netlink attachment,
// docs/kernels.md "Recorded clsact attachments") is removed, for maps, programs and links alike.
import fs from 'node:fs';

/**
 * Removes the pin at `path`, if any; a pin that is gone already is fine. The object lives on while
 * fds (or an attachment) hold it. Returns undefined: `this.pinnedAt = removePin(this.pinnedAt)`.
 */
export function removePin(path: string | undefined): undefined {
  if (path !== undefined) fs.rmSync(path, { force: true });
  return undefined;
}
