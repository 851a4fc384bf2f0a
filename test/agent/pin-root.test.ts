// The pin root (issue 13, point 3): only burrow's own things are touched. Directories are made
// by hand (a sysfs never hangs us), bpffs is never mounted over files, one process at a time
// holds a pin root (flock, crash-safe, the holder named), and `agentctl cleanup` refuses a plain
// directory and removes only burrow's pins from a shared bpffs. Every bpffs and sysfs here is our
// own mount on a temporary directory (never /sys/fs/bpf), every cleanup runs in a throwaway
// network namespace, and teardowns unmount and remove all of it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { ExecutionContext } from 'ava';

import { fsTypeOf, isMountPoint, lockFileFor, lockPinRoot, makeDirectories, PinRootError, PinRootLockedError, preparePinRoot, undoPinRootMount } from '../../src/agent/pin-root.js';
import { BpfMap, u32 } from '../../src/bpf/index.js';
import { agentctl, labManifests, manifestDir } from '../helpers/agentctl.js';
import { createNetns } from '../helpers/netns.js';
import { repoRoot } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';

const BPF_FS_MAGIC = 0xcafe4a11;
const pinRootModule = path.join(repoRoot, 'dist/src/agent/pin-root.js');

/** A temporary directory, removed (after unmounting whatever is on it) by the test's teardown. */
function tempDir(t: ExecutionContext, prefix = 'burrow-pinroot-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => {
    for (let i = 0; i < 4 && isMountPoint(dir); i++) execFileSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Our own bpffs instance on a temporary directory. */
function ownBpffs(t: ExecutionContext): string {
  const dir = tempDir(t, 'burrow-bpffs-');
  execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
  return dir;
}

/** A map that is not burrow's, pinned at `file`. */
function foreignMap(file: string, type: 'hash' | 'array' = 'hash', name = 'other_tool'): void {
  const m = BpfMap.create({ type, key: u32, value: u32, maxEntries: 4, name });
  try {
    m.pin(file);
  } finally {
    m.close();
  }
}

/** Runs pin-root.ts's lockPinRoot in another process: its outcome as JSON. */
function lockInChild(pinRoot: string, lockDir: string): { ok: boolean; pid?: number; message?: string } {
  const code = `import { lockPinRoot } from ${JSON.stringify(pinRootModule)};
try { lockPinRoot(process.argv[1], 'agentctl apply', process.argv[2]); console.log(JSON.stringify({ ok: true })); }
catch (e) { console.log(JSON.stringify({ ok: false, pid: e.pid, message: e.message })); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, pinRoot, lockDir], { encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(r.stdout) as { ok: boolean; pid?: number; message?: string };
}

// ── directories and mounts ────────────────────────────────────────────────────────────────────

privileged.serial('makeDirectories under a sysfs (where Node\'s recursive mkdir never returns): a clear error naming the sysfs', (t) => {
  const sys = tempDir(t, 'burrow-sysfs-');
  execFileSync('mount', ['-t', 'sysfs', 'sysfs', sys]);
  t.true(fs.existsSync(path.join(sys, 'fs/bpf')), 'a sysfs, with its empty fs/bpf mount point');
  const err = t.throws(() => makeDirectories(path.join(sys, 'fs/bpf/burrow/node-a')), { instanceOf: PinRootError });
  t.is(
    err?.message,
    `cannot create ${sys}/fs/bpf/burrow/node-a: mkdir ${sys}/fs/bpf/burrow: ENOENT (${sys}/fs/bpf is on sysfs, where nothing can be created: it is not a mounted bpffs; ` +
      `mount one first (mount -t bpf bpf ${sys}/fs/bpf) or give --pin-root a directory on a bpffs, or an empty or new one elsewhere)`,
  );
  t.throws(() => preparePinRoot(path.join(sys, 'fs/bpf/burrow')), { instanceOf: PinRootError, message: /is on sysfs, where nothing can be created/ });
});

privileged('makeDirectories: a path through a file is refused; existing directories and symlinks are fine', (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'file'), 'x');
  t.throws(() => makeDirectories(path.join(dir, 'file/sub')), { instanceOf: PinRootError, message: `cannot create ${dir}/file/sub: ${dir}/file exists and is not a directory` });
  fs.mkdirSync(path.join(dir, 'real'));
  fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
  makeDirectories(path.join(dir, 'link/a/b'));
  t.true(fs.statSync(path.join(dir, 'real/a/b')).isDirectory());
});

privileged.serial('preparePinRoot mounts bpffs on an empty or new directory only; a non-empty one is refused, its files untouched and not hidden', (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  const err = t.throws(() => preparePinRoot(dir), { instanceOf: PinRootError });
  t.regex(err!.message, new RegExp(`^${dir} is not on a bpffs \\(it is on \\w+\\) and is not empty \\(notes\\.txt\\): refusing to mount bpffs over it`));
  t.false(isMountPoint(dir), 'nothing mounted');
  t.is(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine');

  const fresh = path.join(dir, 'new/pins');
  t.deepEqual(preparePinRoot(fresh), { mount: 'mounted' });
  t.is(fs.statfsSync(fresh).type, BPF_FS_MAGIC);
  t.deepEqual(preparePinRoot(fresh), { mount: 'existing' }, 'a second time: already on bpffs');
  undoPinRootMount(fresh);
  t.false(isMountPoint(fresh), 'a failed start undoes its mount');
});

// ── the lock ──────────────────────────────────────────────────────────────────────────────────

privileged.serial('one holder per pin root: a second is refused naming the holder\'s PID; released, or the holder killed, it is free', async (t) => {
  const locks = tempDir(t, 'burrow-locks-');
  const pinRoot = path.join(tempDir(t), 'pins');
  const lock = lockPinRoot(pinRoot, 'agentd', locks);
  t.true(fs.existsSync(lock.file));
  t.regex(fs.readFileSync(lock.file, 'utf8'), new RegExp(`^${process.pid} agentd\n`));
  const refused = lockInChild(pinRoot, locks);
  t.false(refused.ok);
  t.is(refused.pid, process.pid);
  t.is(refused.message, `the pin root ${pinRoot} is in use by agentd (PID ${process.pid}): one agentd or one changing agentctl command at a time per pin root; stop it first (lock ${lock.file})`);
  t.throws(() => lockPinRoot(`${pinRoot}/`, 'agentctl cleanup', locks), { instanceOf: PinRootLockedError }, 'the same directory however written, in the same process too');
  lock.release();
  t.false(fs.existsSync(lock.file), 'the lock file goes with the lock');
  t.deepEqual(lockInChild(pinRoot, locks), { ok: true });

  // A holder that dies without letting go (kill -9): the kernel drops its flock.
  const code = `import { lockPinRoot } from ${JSON.stringify(pinRootModule)};
lockPinRoot(process.argv[1], 'agentd', process.argv[2]); console.log('locked'); setInterval(() => {}, 1000);`;
  const holder = spawn(process.execPath, ['--input-type=module', '-e', code, pinRoot, locks], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(); });
    holder.on('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
  const whileAlive = lockInChild(pinRoot, locks);
  t.is(whileAlive.pid, holder.pid, 'the holder named');
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  holder.kill('SIGKILL');
  await exited;
  t.true(fs.existsSync(lockFileFor(pinRoot, locks)), 'its lock file is left behind');
  t.notThrows(() => lockPinRoot(pinRoot, 'agentd', locks).release(), 'taken after the holder was killed');
});

// ── agentctl cleanup ──────────────────────────────────────────────────────────────────────────

privileged.serial('cleanup of a plain directory with files: refused (exit 3), every file intact', async (t) => {
  const ns = createNetns();
  t.teardown(() => ns.destroy());
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'sub'));
  for (const f of ['routes', 'peers', 'notes.txt', 'sub/deep.txt']) fs.writeFileSync(path.join(dir, f), f);
  const r = await agentctl(['--pin-root', dir, 'cleanup'], { netns: ns.name });
  t.is(r.code, 3, r.stdout);
  t.is(r.stderr, `error: ${dir} is not on a bpffs (it is on ${fsTypeOf(dir)}) and holds files: burrow pins nothing there, so it is not a pin root of burrow's; refusing to clean up; nothing was removed\n`);
  for (const f of ['routes', 'peers', 'notes.txt', 'sub/deep.txt']) t.is(fs.readFileSync(path.join(dir, f), 'utf8'), f, `${f} intact`);
});

privileged.serial('cleanup on a shared bpffs: burrow\'s maps go, other tools\' pins stay (listed), and so does the mount', async (t) => {
  const ns = createNetns();
  const m = manifestDir();
  t.teardown(() => {
    ns.destroy();
    m.cleanup();
  });
  const bpffs = ownBpffs(t);
  // burrow's five maps, by agentctl apply, beside other tools' pins.
  const applied = await agentctl(['--pin-root', bpffs, 'apply', '-f', m.write('lab.yaml', labManifests()), '--node', 'node-a', '--no-kernel'], { netns: ns.name });
  t.is(applied.code, 0, applied.stderr);
  foreignMap(path.join(bpffs, 'other_tool_map'));
  fs.mkdirSync(path.join(bpffs, 'other_tool'));
  foreignMap(path.join(bpffs, 'other_tool/state'));
  fs.mkdirSync(path.join(bpffs, 'links'));
  foreignMap(path.join(bpffs, 'links/tc_encap@eth0'), 'array', 'impostor'); // burrow's link name, not a link
  foreignMap(path.join(bpffs, 'links/someone_elses'));

  const r = await agentctl(['--pin-root', bpffs, 'cleanup', '-o', 'json'], { netns: ns.name });
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { links: string[]; pins: string[]; leftAlone: string[]; unmounted: boolean; mount: string; errors: string[] };
  t.deepEqual(report.pins.sort(), ['config', 'nexthops', 'peers', 'pmtu', 'routes', 'stats']);
  t.deepEqual(report.links, []);
  t.deepEqual(report.leftAlone.sort(), ['links/someone_elses', 'links/tc_encap@eth0', 'other_tool', 'other_tool_map']);
  t.false(report.unmounted);
  t.regex(report.mount, /^still holds /);
  t.deepEqual(report.errors, []);
  t.deepEqual(fs.readdirSync(bpffs).filter((f) => !f.endsWith('.debug')).sort(), ['links', 'other_tool', 'other_tool_map']);
  t.deepEqual(fs.readdirSync(path.join(bpffs, 'other_tool')), ['state']);
  t.deepEqual(fs.readdirSync(path.join(bpffs, 'links')).sort(), ['someone_elses', 'tc_encap@eth0']);
  t.is(fs.statfsSync(bpffs).type, BPF_FS_MAGIC, 'still mounted: other pins live there');

  // Once nothing else is on it, cleanup unmounts the bpffs (as it does for agentd's own mount).
  fs.rmSync(path.join(bpffs, 'other_tool'), { recursive: true });
  fs.rmSync(path.join(bpffs, 'other_tool_map'));
  fs.rmSync(path.join(bpffs, 'links'), { recursive: true });
  const again = JSON.parse((await agentctl(['--pin-root', bpffs, 'cleanup', '-o', 'json'], { netns: ns.name })).stdout) as { unmounted: boolean; leftAlone: string[] };
  t.deepEqual([again.unmounted, again.leftAlone], [true, []], 'nothing else on it: unmounted');
  t.is(fs.statfsSync(bpffs).type, BPF_FS_MAGIC, '(in ip netns exec\'s own mount namespace: seen from here it stays, and the teardown unmounts it)');
});

privileged.serial('cleanup: a pin named like one of burrow\'s maps but of another kind is left alone', async (t) => {
  const ns = createNetns();
  t.teardown(() => ns.destroy());
  const bpffs = ownBpffs(t);
  foreignMap(path.join(bpffs, 'peers'), 'array', 'peers'); // burrow's peers is a hash
  foreignMap(path.join(bpffs, 'routes'), 'hash', 'not_routes');
  const r = await agentctl(['--pin-root', bpffs, 'cleanup', '-o', 'json'], { netns: ns.name });
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { pins: string[]; leftAlone: string[] };
  t.deepEqual(report.pins, []);
  t.deepEqual(report.leftAlone.sort(), ['peers', 'routes']);
  t.true(fs.existsSync(path.join(bpffs, 'peers')) && fs.existsSync(path.join(bpffs, 'routes')));
});

privileged.serial('cleanup and apply are refused while another process holds the pin root, naming its PID', async (t) => {
  const ns = createNetns();
  const m = manifestDir();
  t.teardown(() => {
    ns.destroy();
    m.cleanup();
  });
  const bpffs = ownBpffs(t);
  const lock = lockPinRoot(bpffs, 'agentd');
  t.teardown(() => lock.release());
  const cleanup = await agentctl(['--pin-root', bpffs, 'cleanup'], { netns: ns.name });
  t.is(cleanup.code, 3);
  t.is(cleanup.stderr, `error: the pin root ${bpffs} is in use by agentd (PID ${process.pid}): one agentd or one changing agentctl command at a time per pin root; stop it first (lock ${lock.file})\n`);
  const apply = await agentctl(['--pin-root', bpffs, 'apply', '-f', m.write('lab.yaml', labManifests()), '--node', 'node-a', '--no-kernel'], { netns: ns.name });
  t.is(apply.code, 3);
  t.regex(apply.stderr, new RegExp(`in use by agentd \\(PID ${process.pid}\\)`));
  t.deepEqual(fs.readdirSync(bpffs).filter((f) => !f.endsWith('.debug')), [], 'apply created nothing');
  const dry = await agentctl(['--pin-root', bpffs, 'apply', '-f', path.join(m.dir, 'lab.yaml'), '--node', 'node-a', '--no-kernel', '--dry-run'], { netns: ns.name });
  t.is(dry.code, 0, `a dry run changes nothing and takes no lock: ${dry.stderr}`);
});
