/**
 * The pin root's bpffs. Pins live as long as the bpffs instance they are on. `ip netns exec`
 * runs its command in a mount namespace of its own, copied from the caller's at that moment (and
 * on hosts whose / is not a shared mount, nothing mounted later propagates either way): a bpffs
 * agentd mounts there disappears with the process, and with it the pinned links — the datapath —
 * and everything a restarted agentd would adopt. So mount bpffs on the pin root *before*
 * `ip netns exec` (the lab does); agentd mounts one itself only when none is there, and warns
 * when that mount will not outlive it. `releasePinRoot` (agentctl cleanup) unmounts it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

import { isBpffs } from './datapath.js';

export type PinRootMount = 'existing' | 'mounted';

function mountNs(pid: number | 'self'): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** True when we run in another mount namespace than our parent (e.g. under `ip netns exec`). */
function inPrivateMountNs(): boolean {
  const ours = mountNs('self');
  const theirs = mountNs(process.ppid);
  return ours !== undefined && theirs !== undefined && ours !== theirs;
}

export function isMountPoint(dir: string): boolean {
  try {
    const info = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    return info.split('\n').some((l) => l.split(' ')[4] === dir);
  } catch {
    return false;
  }
}

export interface PreparedPinRoot {
  mount: PinRootMount;
  warning?: string;
}

/** Makes `pinRoot` a directory on a bpffs, mounting one there if needed. */
export function preparePinRoot(pinRoot: string): PreparedPinRoot {
  try {
    fs.mkdirSync(pinRoot, { recursive: true });
  } catch (e) {
    throw new Error(
      `cannot create the pin root ${pinRoot}: ${(e as Error).message}` +
        (pinRoot.startsWith('/sys/') ? ' (inside `ip netns exec`, /sys is a fresh sysfs: pass --pin-root with a directory on a mounted bpffs)' : ''),
    );
  }
  if (isBpffs(pinRoot)) return { mount: 'existing' };
  execFileSync('mount', ['-t', 'bpf', 'bpf', pinRoot], { stdio: 'pipe' });
  if (!inPrivateMountNs()) return { mount: 'mounted' };
  return {
    mount: 'mounted',
    warning:
      `mounted bpffs on ${pinRoot} inside agentd's private mount namespace (ip netns exec?): the pins and the attached ` +
      `datapath go away when agentd exits; run 'mount -t bpf bpf ${pinRoot}' before starting agentd to keep them across restarts`,
  };
}

/** Unmounts the bpffs on `pinRoot` when it is a mount point of its own; true if it was. */
export function releasePinRoot(pinRoot: string): boolean {
  if (!isMountPoint(pinRoot) || !isBpffs(pinRoot)) return false;
  execFileSync('umount', ['-l', pinRoot], { stdio: 'pipe' });
  return true;
}
