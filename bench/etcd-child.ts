/**
 * The etcd side of the etcdv3 benchmark (bench/etcd.ts), run inside the network namespace that
 * holds etcd (`ip netns exec NS node etcd-child.js '<json job>'`: the benchmark process cannot
 * reach an etcd listening in another namespace). One job per process, one JSON line out:
 *
 *   load      the pool, `nodes` Nodes (v3 JSON) and nodes × blocksPerNode block affinities, in
 *             transactions of ≤ 128 puts (etcd's --max-txn-ops default), `concurrency` in flight
 *   churn     `count` new block affinities for existing remote nodes (blocks past the loaded
 *             ones), in transactions as fast as etcd takes them; timed until agentd's pinned
 *             routes map holds every one, agentd's VmRSS sampled every 20 ms; then the same for
 *             deleting them
 *   latency   rounds of: one new affinity put → the route in every listed pinned routes map
 *             (polled every ~1 ms), then deleted → gone from every map
 *
 * Pinned maps are reachable from any network namespace (bpffs belongs to the mount namespace).
 */
import fs from 'node:fs';

import { Etcd3, type IRequestOp } from 'etcd3';

import { openDatapathMaps, type DatapathMaps } from '../src/agent/datapath.js';
import { affinityKey, AFFINITY_CONFIRMED as AFFINITY_VALUE } from '../test/support/etcd.js';
import { blockCidr, blockInMap, nodeManifest, nodeName, POOL_CIDR } from './scale-manifests.js';

export const V3 = '/calico/resources/v3/projectcalico.org';
/** etcd's default --max-txn-ops. */
export const TXN_OPS = 128;

export type EtcdChildJob =
  | { job: 'load'; endpoint: string; nodes: number; blocksPerNode: number; concurrency: number }
  | { job: 'churn'; endpoint: string; pinRoot: string; pid: number; nodes: number; blocksPerNode: number; count: number; concurrency: number; timeoutMs: number; stallMs: number }
  | { job: 'latency'; endpoint: string; pinRoots: string[]; node: string; cidrs: string[]; timeoutMs: number };

export interface LoadResult {
  keys: number;
  txns: number;
  ms: number;
  keysPerSecond: number;
}

export interface ChurnPhase {
  count: number;
  /** Changes the map never showed (nothing changed for stallMs, or timeoutMs passed). */
  missing: number;
  /** First write sent → last transaction acknowledged. */
  writeMs: number;
  /** First write sent → the map shows every change (NaN when some never showed). */
  visibleMs: number;
  /** First write sent → the last change the map showed. */
  lastChangeMs: number;
  /** Last acknowledged → the map shows every change. */
  lagMs: number;
  writePerSecond: number;
  endToEndPerSecond: number;
  /** Changes the map showed ÷ lastChangeMs (the rate even when some were lost). */
  appliedPerSecond: number;
  /** agentd's VmRSS: max of the 20 ms samples during the phase, and 2 s after it. */
  rssMaxMiB: number;
  rssAfterMiB: number;
}

export interface ChurnResult {
  add: ChurnPhase;
  remove: ChurnPhase;
  hwmMiB: number;
}

export interface LatencyResult {
  /** Per round: put sent → the route in every map (max over the maps), and per map. */
  addMs: number[];
  addPerMapMs: number[][];
  removeMs: number[];
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function procStatus(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const routeKey = (cidr: string) => {
  const [addr, len] = cidr.split('/');
  return { prefixlen: Number(len), addr: addr! };
};

/** Runs `ops` as transactions of ≤ TXN_OPS, `concurrency` in flight. */
async function writeTxns(client: Etcd3, ops: IRequestOp[], concurrency: number): Promise<number> {
  const batches: IRequestOp[][] = [];
  for (let i = 0; i < ops.length; i += TXN_OPS) batches.push(ops.slice(i, i + TXN_OPS));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const b = batches[next++]!;
      await client.kv.txn({ compare: [], success: b, failure: [] });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  return batches.length;
}

const put = (key: string, value: string): IRequestOp => ({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } });
const del = (key: string): IRequestOp => ({ request_delete_range: { key: Buffer.from(key) } });

async function load(client: Etcd3, j: Extract<EtcdChildJob, { job: 'load' }>): Promise<LoadResult> {
  const ops: IRequestOp[] = [
    put(`${V3}/ippools/bench-pool`, JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'bench-pool' }, spec: { cidr: POOL_CIDR, blockSize: 26, ipipMode: 'Always' } })),
  ];
  for (let i = 0; i < j.nodes; i++) ops.push(put(`${V3}/nodes/${nodeName(i)}`, JSON.stringify(nodeManifest(i))));
  for (let i = 0; i < j.nodes; i++) {
    for (let k = 0; k < j.blocksPerNode; k++) ops.push(put(affinityKey(nodeName(i), blockCidr(i * j.blocksPerNode + k)), AFFINITY_VALUE));
  }
  const t0 = now();
  const txns = await writeTxns(client, ops, j.concurrency);
  const ms = now() - t0;
  return { keys: ops.length, txns, ms, keysPerSecond: (ops.length / ms) * 1000 };
}

/**
 * Polls until `done(key)` holds for every key, or nothing changed for `stallMs` (or `timeoutMs`
 * passed): when the last key became done, or when the last one did before the stall, and how many
 * never did.
 */
async function pollAll<K>(keys: readonly K[], done: (k: K) => boolean, timeoutMs: number, stallMs: number, t0: number): Promise<{ t: number; missing: number }> {
  let pending = [...keys];
  let lastChange = now();
  for (;;) {
    const before = pending.length;
    pending = pending.filter((k) => !done(k));
    if (pending.length !== before) lastChange = now();
    if (pending.length === 0) return { t: lastChange, missing: 0 };
    if (now() - t0 > timeoutMs || now() - lastChange > stallMs) return { t: lastChange, missing: pending.length };
    await sleep(2);
  }
}

async function churnPhase(client: Etcd3, maps: DatapathMaps, j: Extract<EtcdChildJob, { job: 'churn' }>, ops: IRequestOp[], cidrs: string[], present: boolean): Promise<ChurnPhase> {
  let rssMax = 0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, procStatus(j.pid, 'VmRSS'))), 20);
  try {
    const keys = cidrs.map(routeKey);
    const t0 = now();
    await writeTxns(client, ops, j.concurrency);
    const tWritten = now();
    const seen = await pollAll(keys, (k) => blockInMap(maps.routes, k) === present, j.timeoutMs, j.stallMs, t0);
    clearInterval(sampler);
    rssMax = Math.max(rssMax, procStatus(j.pid, 'VmRSS'));
    await sleep(2000);
    const count = ops.length;
    const visible = seen.missing === 0 ? seen.t - t0 : NaN;
    return {
      count,
      missing: seen.missing,
      writeMs: tWritten - t0,
      visibleMs: visible,
      lastChangeMs: seen.t - t0,
      lagMs: visible - (tWritten - t0),
      writePerSecond: (count / (tWritten - t0)) * 1000,
      endToEndPerSecond: (count / visible) * 1000,
      appliedPerSecond: ((count - seen.missing) / (seen.t - t0)) * 1000,
      rssMaxMiB: rssMax,
      rssAfterMiB: procStatus(j.pid, 'VmRSS'),
    };
  } finally {
    clearInterval(sampler);
  }
}

async function churn(client: Etcd3, j: Extract<EtcdChildJob, { job: 'churn' }>): Promise<ChurnResult> {
  const maps = openDatapathMaps(j.pinRoot);
  try {
    const base = j.nodes * j.blocksPerNode;
    const keys: string[] = [];
    const cidrs: string[] = [];
    for (let k = 0; k < j.count; k++) {
      const node = nodeName(1 + (k % (j.nodes - 1))); // remote nodes only: node-0 is agentd's own
      const cidr = blockCidr(base + k);
      keys.push(affinityKey(node, cidr));
      cidrs.push(cidr);
    }
    const add = await churnPhase(client, maps, j, keys.map((k) => put(k, AFFINITY_VALUE)), cidrs, true);
    const remove = await churnPhase(client, maps, j, keys.map(del), cidrs, false);
    return { add, remove, hwmMiB: procStatus(j.pid, 'VmHWM') };
  } finally {
    maps.close();
  }
}

async function latency(client: Etcd3, j: Extract<EtcdChildJob, { job: 'latency' }>): Promise<LatencyResult> {
  const maps = j.pinRoots.map((p) => openDatapathMaps(p));
  const out: LatencyResult = { addMs: [], addPerMapMs: [], removeMs: [] };
  // Waits until every map shows `present` for `cidr`; the time each map first did, from t0.
  const wait = async (cidr: string, present: boolean, t0: number): Promise<number[]> => {
    const key = routeKey(cidr);
    const seen: (number | undefined)[] = maps.map(() => undefined);
    for (;;) {
      maps.forEach((m, i) => {
        if (seen[i] === undefined && blockInMap(m.routes, key) === present) seen[i] = now() - t0;
      });
      if (seen.every((s) => s !== undefined)) return seen as number[];
      if (now() - t0 > j.timeoutMs) throw new Error(`${cidr} ${present ? 'not in' : 'still in'} every map after ${j.timeoutMs} ms`);
      await sleep(1);
    }
  };
  try {
    for (const cidr of j.cidrs) {
      const key = affinityKey(j.node, cidr);
      let t0 = now();
      await client.put(key).value(AFFINITY_VALUE);
      const per = await wait(cidr, true, t0);
      out.addPerMapMs.push(per);
      out.addMs.push(Math.max(...per));
      await sleep(50);
      t0 = now();
      await client.delete().key(key);
      out.removeMs.push(Math.max(...(await wait(cidr, false, t0))));
      await sleep(50);
    }
    return out;
  } finally {
    for (const m of maps) m.close();
  }
}

async function main(): Promise<void> {
  const j = JSON.parse(process.argv[2] ?? '{}') as EtcdChildJob;
  const client = new Etcd3({ hosts: [j.endpoint], dialTimeout: 3000 });
  try {
    const result = j.job === 'load' ? await load(client, j) : j.job === 'churn' ? await churn(client, j) : await latency(client, j);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    client.close();
  }
}

await main();
