/**
 * One control-plane measurement in its own process (so its peak RSS is its own), run by
 * control-plane.ts inside a private mount namespace (`unshare --mount`): the bpffs it mounts for
 * the pin root, and every map pinned there, vanish with the process.
 *
 *   node dist/bench/control-plane-child.js '<json options>'   → one JSON line of results
 *
 * modes:
 *   full     load + validate manifests, compile, then reconcile into empty maps, step by step
 *            (the steps reconcile() takes: encode the desired entries, read the maps, check,
 *            plan, apply); then a reconcile() with nothing to do (a resync); then the
 *            incremental changes (one node added, then removed) from file write to maps updated.
 *   compile  the same up to the plan, without writing (the syscall baseline of `full`).
 *   raw      the baseline: the same entries, encoded beforehand, written with BpfMap.setBatch.
 */
import { execFileSync } from 'node:child_process';
import inspector from 'node:inspector/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadDatapath, type DatapathMaps } from '../src/agent/datapath.js';
import { desiredParts, planReconcile, planChangeCount } from '../src/agent/plan.js';
import { applyPlan, checkWritable, readActualState, reconcile } from '../src/agent/reconcile.js';
import { raw } from '../src/bpf/index.js';
import { compileDesiredState } from '../src/compile/index.js';
import { loadManifests, type Model } from '../src/config/index.js';
import { blockCidr, blockInMap, blockManifests, LOCAL_NODE, nodeManifest } from './scale-manifests.js';

export interface ChildOptions {
  mode: 'full' | 'compile' | 'raw';
  manifests: string;
  /** Node index used for the incremental change (nodes + 0: one past the last). */
  extraNode: number;
  blocksPerNode: number;
  /** 'apply': stop after the first apply (syscall counting); default all. */
  phases?: 'apply' | 'all';
  /** Write a V8 CPU profile of the measured part here (started after the programs are loaded: the
   * profiler's SIGPROF would interrupt the verifier, which then fails with EAGAIN). */
  cpuProfile?: string;
}

export interface ChildResult {
  mode: ChildOptions['mode'];
  routes: number;
  peers: number;
  ms: Record<string, number>;
  /** VmHWM (peak resident set) after each phase, MiB. */
  hwmMiB: Record<string, number>;
  maxRssMiB: number;
  heapUsedMiB: number;
  changes: Record<string, number>;
}

const UPLINK = { ifindex: 1, mac: '02:00:00:00:00:01', mtu: 1500 };

function hwmMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function timed<T>(ms: Record<string, number>, hwm: Record<string, number>, name: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  ms[name] = Number(process.hrtime.bigint() - t0) / 1e6;
  hwm[name] = hwmMiB();
  return r;
}

async function load(dir: string): Promise<Model> {
  const r = await loadManifests([dir]);
  if (!r.ok) throw new Error(`manifests do not validate: ${JSON.stringify(r.errors.slice(0, 3))}`);
  return r.model;
}

function compile(model: Model) {
  return compileDesiredState(model, LOCAL_NODE, { uplinkMtu: 1500, tunnelDevice: 'burrow0' });
}

function openMaps(): DatapathMaps {
  const pinRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-bench-cp-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', pinRoot]); // private mount namespace: gone with us
  const dp = loadDatapath(pinRoot, ['tc_encap']);
  // The maps live on through our fds: drop the bpffs and its directory now, leaving nothing behind.
  execFileSync('umount', ['-l', pinRoot]);
  fs.rmdirSync(pinRoot);
  return dp.maps;
}

async function startProfile(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => {};
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

async function full(o: ChildOptions, r: ChildResult): Promise<void> {
  const { ms, hwmMiB: hwm } = r;
  const maps = openMaps();
  const stopProfile = await startProfile(o.cpuProfile);
  hwm.start = hwmMiB();
  const model = await timed(ms, hwm, 'load', () => load(o.manifests));
  const state = await timed(ms, hwm, 'compile', () => compile(model));
  const desired = await timed(ms, hwm, 'encode', () => desiredParts(state, UPLINK));
  const actual = await timed(ms, hwm, 'read', () => readActualState(maps, null, { kernelRoutes: false, nat: false }));
  await timed(ms, hwm, 'check', () => checkWritable(desired, maps));
  const plan = await timed(ms, hwm, 'plan', () => planReconcile(actual, desired));
  r.changes.full = planChangeCount(plan);
  if (o.mode === 'full') {
    await timed(ms, hwm, 'apply', () => applyPlan(maps, null, plan, { sizes: { routes: actual.routes.size, peers: actual.peers.size } }));
  }
  r.routes = desired.routes.size;
  r.peers = desired.peers.size;
  if (o.mode !== 'full' || o.phases === 'apply') {
    await stopProfile();
    return;
  }

  // Reading a full routes map back (what every later cycle starts with).
  await timed(ms, hwm, 'read.full', () => readActualState(maps, null, { kernelRoutes: false, nat: false }));

  // A resync: everything read, compiled and compared again; nothing to write.
  await timed(ms, hwm, 'resync', async () => {
    const res = await reconcile(maps, compile(await load(o.manifests)), { kernel: false, uplink: UPLINK });
    r.changes.resync = res.changes;
  });

  // One node with its blocks appears in (then disappears from) the manifests directory.
  const extra = path.join(o.manifests, '30-extra-node.json');
  const doc = { apiVersion: 'v1', kind: 'List', items: [nodeManifest(o.extraNode), ...blockManifests(o.extraNode, o.blocksPerNode)] };
  const firstBlock = blockCidr(o.extraNode * o.blocksPerNode);
  for (const step of ['add', 'remove'] as const) {
    await timed(ms, hwm, `incremental.${step}`, async () => {
      if (step === 'add') fs.writeFileSync(extra, JSON.stringify(doc));
      else fs.rmSync(extra);
      const res = await reconcile(maps, compile(await load(o.manifests)), { kernel: false, uplink: UPLINK });
      r.changes[`incremental.${step}`] = res.changes;
    });
    const [addr, len] = firstBlock.split('/');
    const present = blockInMap(maps.routes, { prefixlen: Number(len), addr: addr! });
    if (present !== (step === 'add')) throw new Error(`incremental ${step}: route ${firstBlock} ${present ? 'still' : 'not'} in the map`);
  }
  await stopProfile();
  maps.close();
}

async function rawBaseline(o: ChildOptions, r: ChildResult): Promise<void> {
  const { ms, hwmMiB: hwm } = r;
  const maps = openMaps();
  const desired = desiredParts(compile(await load(o.manifests)), UPLINK);
  // Pre-encoded: key and value bytes ready, written through byte codecs (a copy, no encoding).
  const encode = <K, V>(m: { key: { size: number; write(k: K, b: Buffer, o: number): void }; value: { size: number; write(v: V, b: Buffer, o: number): void } }, rows: Iterable<{ key: K; value: V }>) =>
    [...rows].map(({ key, value }) => {
      const k = Buffer.alloc(m.key.size);
      const v = Buffer.alloc(m.value.size);
      m.key.write(key, k, 0);
      m.value.write(value, v, 0);
      return [k, v] as const;
    });
  const routes = encode(maps.routes, desired.routes.values());
  const peers = encode(maps.peers, desired.peers.values());
  const rawRoutes = maps.routes.withCodecs(raw(maps.routes.key.size), raw(maps.routes.value.size));
  const rawPeers = maps.peers.withCodecs(raw(maps.peers.key.size), raw(maps.peers.value.size));
  hwm.start = hwmMiB();
  await timed(ms, hwm, 'apply', () => {
    rawPeers.setBatch(peers);
    maps.config.set(0, desired.config);
    rawRoutes.setBatch(routes);
  });
  r.routes = routes.length;
  r.peers = peers.length;
  maps.close();
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
  const r: ChildResult = { mode: o.mode, routes: 0, peers: 0, ms: {}, hwmMiB: {}, maxRssMiB: 0, heapUsedMiB: 0, changes: {} };
  if (o.mode === 'raw') await rawBaseline(o, r);
  else await full(o, r);
  r.maxRssMiB = process.resourceUsage().maxRSS / 1024;
  r.heapUsedMiB = process.memoryUsage().heapUsed / 2 ** 20;
  process.stdout.write(JSON.stringify(r) + '\n');
}

await main();
