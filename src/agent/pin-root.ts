/**
 * The pin root: the bpffs directory that holds burrow's maps and links (datapath.ts), and what
 * may be done to it.
 *
 * - It is on a bpffs, or agentd / `agentctl apply` mount one on it — only on an EMPTY or new
 *   directory: bpffs mounted over files would hide them. Anything else is a PinRootError.
 * - Directories are created one component at a time (makeDirectories): Node's
 *   `mkdirSync(p, { recursive: true })` never returns under sysfs (mkdir there fails with ENOENT
 *   although the parent exists, and Node retries forever). That is what `/sys/fs/bpf/...` is
 *   when /sys/fs/bpf is not a mounted bpffs, and always under `ip netns exec`, which mounts a
 *   fresh sysfs: the answer is now a clear error.
 * - One agentd or one changing agentctl command (apply, cleanup) at a time: lockPinRoot takes
 *   flock(2) on /run/burrow/pin-root-<hash of the path>.lock (bpffs holds only pins, no files). The
 *   kernel drops the lock when its holder exits or crashes; a second taker is told the holder's PID.
 *
 * Pins live as long as the bpffs instance they are on. `ip netns exec` runs its command in a
 * mount namespace of its own, copied from the caller's at that moment (and on hosts whose / is
 * not a shared mount, nothing mounted later propagates either way): a bpffs agentd mounts there
 * disappears with the process, and with it the pinned links — the datapath — and everything a
 * restarted agentd would adopt. So mount bpffs on the pin root *before* `ip netns exec` (the lab
 * does); agentd mounts one itself only when none is there, and warns when that mount will not
 * outlive it. `releasePinRoot` (agentctl cleanup) unmounts it once nothing else is pinned there.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { addon } from '../bpf/native.js';

export type PinRootMount = 'existing' | 'mounted';

/** The pin root cannot be used as asked; nothing was changed. */
export class PinRootError extends Error {
  override readonly name: string = 'PinRootError';
}

/** Another process holds the pin root's lock. */
export class PinRootLockedError extends PinRootError {
  override readonly name = 'PinRootLockedError';
  constructor(
    message: string,
    /** The holder's PID, when it could be found. */
    readonly pid: number | undefined,
  ) {
    super(message);
  }
}

const BPF_FS_MAGIC = 0xcafe4a11;
const FS_NAMES = new Map<number, string>([
  [BPF_FS_MAGIC, 'bpffs'], [0x62656572, 'sysfs'], [0x01021994, 'tmpfs'], [0xef53, 'ext4'], [0x9fa0, 'proc'],
  [0x794c7630, 'overlayfs'], [0x58465342, 'xfs'], [0x9123683e, 'btrfs'], [0x6969, 'nfs'], [0x65735546, 'fuse'],
]);

export function isBpffs(dir: string): boolean {
  try {
    return fs.statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** 'bpffs', 'sysfs', 'tmpfs', … or the magic number in hex; 'unknown' when statfs fails. */
export function fsTypeOf(dir: string): string {
  try {
    const type = fs.statfsSync(dir).type;
    return FS_NAMES.get(type) ?? `filesystem type 0x${type.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function mountNs(pid: number | 'self'): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/** True when we run in another mount namespace than our parent (e.g. under `ip netns exec`). */
export function inPrivateMountNs(): boolean {
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

/** Why nothing can be created in `dir`, when its filesystem says so (sysfs, proc). */
function cannotCreateHint(dir: string): string {
  const type = fsTypeOf(dir);
  if (type !== 'sysfs' && type !== 'proc') return '';
  const netnsExec = dir.startsWith('/sys') && inPrivateMountNs()
    ? '; under `ip netns exec`, /sys is a fresh sysfs with no bpffs on it'
    : '';
  return ` (${dir} is on ${type}, where nothing can be created: it is not a mounted bpffs${netnsExec}; ` +
    `mount one first (mount -t bpf bpf ${dir}) or give --pin-root a directory on a bpffs, or an empty or new one elsewhere)`;
}

/**
 * `mkdir -p`, one component at a time, each failure a PinRootError naming the component and why.
 * Never loops: each component is looked at once, and created once.
 */
export function makeDirectories(dir: string): void {
  const target = path.resolve(dir);
  let cur = '/';
  for (const part of target.split('/').filter(Boolean)) {
    const parent = cur;
    cur = path.join(cur, part);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(cur);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw new PinRootError(`cannot create ${target}: ${cur}: ${messageOf(e)}`);
    }
    if (st) {
      if (!st.isDirectory()) throw new PinRootError(`cannot create ${target}: ${cur} exists and is not a directory`);
      continue;
    }
    try {
      fs.mkdirSync(cur, { mode: 0o755 });
    } catch (e) {
      if (errnoOf(e) === 'EEXIST' && fs.statSync(cur, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw new PinRootError(`cannot create ${target}: mkdir ${cur}: ${errnoOf(e) ?? messageOf(e)}${cannotCreateHint(parent)}`);
    }
  }
}

/** At most `n` names, then "… and N more". */
function someNames(names: readonly string[], n = 5): string {
  const shown = names.slice(0, n).map((s) => (s.length > 40 ? `${s.slice(0, 40)}…` : s)).join(', ');
  return names.length > n ? `${shown}, … and ${names.length - n} more` : shown;
}

export interface PreparedPinRoot {
  mount: PinRootMount;
  warning?: string;
}

/**
 * Makes `pinRoot` a directory on a bpffs: one already, or an empty or new directory on which a
 * bpffs is mounted. Throws PinRootError (having changed nothing but directories it created) when
 * the directory cannot be created or holds files and is not on a bpffs.
 */
export function preparePinRoot(pinRoot: string): PreparedPinRoot {
  makeDirectories(pinRoot);
  if (isBpffs(pinRoot)) return { mount: 'existing' };
  let entries: string[];
  try {
    entries = fs.readdirSync(pinRoot);
  } catch (e) {
    throw new PinRootError(`cannot use ${pinRoot} as the pin root: ${messageOf(e)}`);
  }
  if (entries.length > 0) {
    throw new PinRootError(
      `${pinRoot} is not on a bpffs (it is on ${fsTypeOf(pinRoot)}) and is not empty (${someNames(entries)}): ` +
        'refusing to mount bpffs over it, which would hide what it holds; give --pin-root a directory on a bpffs, or an empty or new one',
    );
  }
  try {
    execFileSync('mount', ['-t', 'bpf', 'bpf', pinRoot], { stdio: 'pipe' });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new PinRootError(`cannot mount bpffs on ${pinRoot}: ${stderr || messageOf(e)}`);
  }
  if (!isBpffs(pinRoot)) throw new PinRootError(`mounted bpffs on ${pinRoot}, but it does not show as one`);
  if (!inPrivateMountNs()) return { mount: 'mounted' };
  return {
    mount: 'mounted',
    warning:
      `mounted bpffs on ${pinRoot} inside agentd's private mount namespace (ip netns exec?): the pins and the attached ` +
      `datapath go away when agentd exits; run 'mount -t bpf bpf ${pinRoot}' before starting agentd to keep them across restarts`,
  };
}

/** Undoes preparePinRoot's mount after a failed start: the bpffs it mounted goes, with whatever was pinned there since. */
export function undoPinRootMount(pinRoot: string): void {
  if (isMountPoint(pinRoot) && isBpffs(pinRoot)) execFileSync('umount', ['-l', pinRoot], { stdio: 'pipe' });
}

/** maps.debug / progs.debug: the kernel's bpf_preload iterators in a fresh bpffs root, not anybody's pins. */
export function isPreloadIterator(name: string): boolean {
  return name === 'maps.debug' || name === 'progs.debug';
}

/**
 * Unmounts the bpffs on `pinRoot` when it is a mount point of its own and nothing but the
 * kernel's preload iterators is left on it (another tool's pins keep it mounted); never the
 * host's /sys/fs/bpf. Returns why it did not, or undefined when it did.
 */
export function releasePinRoot(pinRoot: string): { unmounted: boolean; why?: string } {
  const dir = path.resolve(pinRoot);
  if (!isMountPoint(dir) || !isBpffs(dir)) return { unmounted: false, why: 'not a bpffs mount of its own' };
  if (dir === '/sys/fs/bpf') return { unmounted: false, why: 'the host\'s /sys/fs/bpf is never unmounted' };
  const left = fs.readdirSync(dir).filter((n) => !isPreloadIterator(n));
  if (left.length > 0) return { unmounted: false, why: `still holds ${someNames(left)}` };
  execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  return { unmounted: true };
}

// ── the lock ──────────────────────────────────────────────────────────────────────────────────

/** Where pin-root locks live: a tmpfs (bpffs takes only pins), gone at reboot with the pins. */
export const LOCK_DIR = '/run/burrow';

/** The path with every existing part resolved (symlinks), the rest as given: one lock per directory. */
function canonicalPath(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...tail);
    } catch {
      const up = path.dirname(head);
      if (up === head) return path.resolve(p);
      tail.unshift(path.basename(head));
      head = up;
    }
  }
}

export function lockFileFor(pinRoot: string, lockDir = LOCK_DIR): string {
  return path.join(lockDir, `pin-root-${createHash('sha256').update(canonicalPath(pinRoot)).digest('hex').slice(0, 16)}.lock`);
}

/** The PID holding a flock on the file open as `fd` (/proc/locks), or what the holder wrote in it. */
function holderOf(file: string, fd: number): { pid?: number; what?: string } {
  const st = fs.fstatSync(fd);
  let content = '';
  try {
    content = fs.readFileSync(file, 'utf8').slice(0, 512);
  } catch {
    // gone meanwhile
  }
  const m = /^(\d+) (.*)$/m.exec(content);
  const written = m ? { pid: Number(m[1]), what: m[2]! } : {};
  // The file's device as /proc/locks prints it: major:minor in hex (Linux's dev_t encoding).
  const dev = st.dev;
  const major = Math.floor(dev / 256) % 4096;
  const minor = (dev % 256) + Math.floor(dev / 1048576) * 256;
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  try {
    for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
      // "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"
      const f = line.trim().split(/\s+/);
      if (f[1] !== 'FLOCK' || f[5] !== id) continue;
      const pid = Number(f[4]);
      if (pid > 0) return pid === written.pid ? written : { pid };
    }
  } catch {
    // no /proc/locks: what the file says
  }
  return written;
}

export interface PinRootLock {
  readonly file: string;
  /** Removes the lock file and drops the lock. Idempotent. */
  release(): void;
}

/**
 * Takes the pin root's lock for `what` ('agentd', 'agentctl apply', …), or throws
 * PinRootLockedError naming the holder's PID. Never waits.
 */
export function lockPinRoot(pinRoot: string, what: string, lockDir = LOCK_DIR): PinRootLock {
  makeDirectories(lockDir);
  const file = lockFileFor(pinRoot, lockDir);
  for (let attempt = 0; attempt < 20; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
    } catch (e) {
      throw new PinRootError(`cannot open the pin root's lock file ${file}: ${messageOf(e)}`);
    }
    let held = false;
    try {
      if (!addon().flockExclusive(fd)) {
        const h = holderOf(file, fd);
        const who = h.pid !== undefined ? `${h.what ?? 'another process'} (PID ${h.pid})` : 'another process';
        throw new PinRootLockedError(
          `the pin root ${pinRoot} is in use by ${who}: one agentd or one changing agentctl command at a time per pin root; stop it first (lock ${file})`,
          h.pid,
        );
      }
      // The previous holder removes the file as it lets go: a lock on a file no longer at that
      // path is no lock. Try again with the file that is there now.
      const mine = fs.fstatSync(fd);
      const there = fs.statSync(file, { throwIfNoEntry: false });
      if (!there || there.ino !== mine.ino || there.dev !== mine.dev) continue;
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `${process.pid} ${what}\n${canonicalPath(pinRoot)}\n`, 0);
      held = true;
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          try {
            fs.unlinkSync(file);
          } catch {
            // already gone
          }
          fs.closeSync(fd);
        },
      };
    } finally {
      if (!held) fs.closeSync(fd);
    }
  }
  throw new PinRootError(`cannot lock the pin root ${pinRoot}: its lock file ${file} keeps being replaced`);
}
