// A private directory on bpffs for a test's pins, removed afterwards: always a fresh bpffs
// instance mounted on a temporary directory of our own, never the host's /sys/fs/bpf. Tests run
// agentctl and agentd under `ip netns exec`, which mounts a fresh sysfs on /sys (no bpffs there),
// so pins under /sys/fs/bpf would be out of their reach; a mount under the temporary directory
// stays visible in the mount namespace `ip netns exec` makes (docs/kernels.md, "Failures found").
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PinDir {
  readonly path: string;
  /** Removes every pin and the directory (and our mount). Idempotent. */
  cleanup(): void;
}

export function makePinDir(): PinDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-test-'));
  try {
    execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
  } catch (e) {
    fs.rmdirSync(dir);
    throw e;
  }
  let done = false;
  return {
    path: dir,
    cleanup() {
      if (done) return;
      done = true;
      // Unmounting drops this bpffs instance and with it every pin; objects live on while fds remain.
      execFileSync('umount', ['-l', dir]);
      fs.rmdirSync(dir);
    },
  };
}
