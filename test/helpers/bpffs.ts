// A private directory on bpffs for a test's pins, removed afterwards. Uses
// /sys/fs/bpf/burrow-test-* when /sys/fs/bpf is a bpffs; on machines where it is not mounted (it
// is a plain sysfs directory, where nothing can be created) it mounts a fresh bpffs instance on a
// temporary directory of our own instead of touching the host's /sys/fs/bpf.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isBpffs } from '../../src/agent/datapath.js';

export interface PinDir {
  readonly path: string;
  /** Removes every pin and the directory (and our mount, if we made one). Idempotent. */
  cleanup(): void;
}

export function makePinDir(): PinDir {
  if (isBpffs('/sys/fs/bpf')) {
    const dir = fs.mkdtempSync('/sys/fs/bpf/burrow-test-');
    let done = false;
    return {
      path: dir,
      cleanup() {
        if (done) return;
        done = true;
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-test-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
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
