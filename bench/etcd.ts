/**
 * §7 etcdv3 datastore (issue 10): agentd reading Calico's etcd layout (src/engine/etcd-source.ts)
 * from a real etcd (Debian's etcd-server, test/support/etcd.ts).
 *
 *   cold      `nodes` Nodes × `blocksPerNode` block affinities (+ one IPIP pool 10.0.0.0/8,
 *             blockSize 26) written into an etcd that runs in a throwaway namespace (on its
 *             loopback); agentd `--datastore etcdv3` in the same namespace (veth uplink up0 with
 *             node-0's address, TC decap, kernel routes and nft): start → the debug lines
 *             'manifests read' (etcd list + engine), 'node state adopted', the first 'reconciled'
 *             (maps + kernel routes) and 'agentd ready', `rounds` times (each round cleans up after
 *             itself with --cleanup-on-exit and starts on a new pin root)
 *   churn     with the last of those agentd running: `churnCount` new affinities for existing
 *             nodes written as fast as etcd takes them (transactions of 128, several in flight),
 *             timed until agentd's pinned routes map holds them all; then the same deleted;
 *             agentd's VmRSS sampled every 20 ms, VmHWM after
 *   latency   a lab (src/lab) with agentd on its three nodes against one etcd in node-a's
 *             namespace: rounds of one new affinity for node-c put → the route in node-a's and
 *             node-b's pinned routes maps (polled every ~1 ms; max over the two), then deleted →
 *             gone from both
 *
 * etcd's side runs in bench/etcd-child.ts inside etcd's namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startAgent, type LabAgent } from '../src/lab/agents.js';
import { Lab } from '../src/lab/lab.js';
import { clusterManifests, poolManifest } from '../src/lab/manifests.js';
import { etcdOpsFor, TestEtcd } from '../test/support/etcd.js';
// Types only: importing etcd-child.js would run its job.
import type { ChurnResult, EtcdChildJob, LatencyResult, LoadResult } from './etcd-child.js';
import { fmt, sleep, summarize, type Summary } from './measure.js';
import { LOCAL_NODE, nodeAddress } from './scale-manifests.js';
import { onCleanup, persistentPinDir, scratchNetns } from './scratch.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HERE, 'etcd-child.js');
const AGENTD = path.resolve(HERE, '../src/agent/agentd.js');

export interface EtcdBenchOptions {
  nodes: number;
  blocksPerNode: number;
  rounds: number;
  log: (line: string) => void;
  /** Affinity changes written in the churn (default 20,000). */
  churnCount?: number;
  /** Lab latency rounds (default 20). */
  latencyRounds?: number;
}

export interface EtcdColdRound {
  /** Spawn → each log line (ms, as the benchmark read them off agentd's stdout). */
  manifestsReadMs: number;
  adoptedMs: number;
  firstReconciledMs: number;
  readyMs: number;
  /** The first cycle's own durationMs (maps + kernel routes + attach). */
  firstCycleMs: number;
  routesInMap: number;
  kernelRoutes: number;
  rssReadMiB: number;
  rssReadyMiB: number;
  hwmReadyMiB: number;
  /** agentd's CPU time (user + system, all threads) at 'agentd ready', as it logs it: the start's cost on a busy machine too. */
  cpuReadyMs: number;
  /** VmRSS 2 s after ready (the post-ready memory release done: docs/control-plane.md, "Memory"). */
  rssSettledMiB: number;
}

export interface EtcdBenchResult {
  nodes: number;
  blocksPerNode: number;
  /** `routes` entries agentd derives: every block (remote and its own) and the pool. */
  routes: number;
  load: LoadResult;
  cold: EtcdColdRound[];
  coldReadyMs: Summary;
  coldReadMs: Summary;
  coldFirstReconciledMs: Summary;
  coldFirstCycleMs: Summary;
  /** agentd did not start at this size (its fatal log line): no cold, churn figures. */
  startError?: string;
  churn?: ChurnResult & {
    /** Watch deliveries ('source events applied') and cycles ('reconciled') during the add phase. */
    addSinkCalls: number;
    addEventsPerSink: Summary;
    addCycles: number;
  };
  latency: LatencyResult & { addSummary: Summary; removeSummary: Summary; rounds: number };
  etcdVersion: string;
}

interface LogLine {
  t: number;
  rec: { msg?: string; [k: string]: unknown };
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** `ip netns exec NS node etcd-child.js JOB` → its JSON line. */
function runChild<T>(ns: string, job: EtcdChildJob): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CHILD, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stop = onCleanup(`etcd-child:${child.pid}`, () => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      stop();
      if (code !== 0) return reject(new Error(`etcd child (${job.job}) exited ${code}: ${err.trim()}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

function procStatus(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** agentd in `ns` against `endpoint`, its stdout lines time-stamped on arrival. */
function spawnAgentd(ns: string, endpoint: string, pinRoot: string) {
  const started = now();
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, AGENTD, '--node', LOCAL_NODE, '--datastore', 'etcdv3', '--etcd-endpoints', endpoint,
    '--uplink', 'up0', '--pin-root', pinRoot, '--decap-hook', 'tc', '--log-level', 'debug', '--cleanup-on-exit',
    // More agentd options for a comparison run (e.g. `--nexthops off`), listed in the report's method.
    ...(process.env['BURROW_BENCH_AGENTD_ARGS'] ?? '').split(' ').filter(Boolean)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = onCleanup(`agentd:${child.pid}`, () => child.kill('SIGKILL'));
  const lines: LogLine[] = [];
  let partial = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    const t = now() - started;
    partial += b.toString();
    let i;
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      try {
        lines.push({ t, rec: JSON.parse(line) as LogLine['rec'] });
      } catch {
        lines.push({ t, rec: { msg: line } });
      }
    }
  });
  child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
  const find = (msg: string, from = 0) => lines.slice(from).find((l) => l.rec.msg === msg);
  const waitFor = async (msg: string, timeoutMs: number): Promise<LogLine> => {
    const t0 = Date.now();
    for (;;) {
      const hit = find(msg);
      if (hit) return hit;
      if (child.exitCode !== null) throw new Error(`agentd exited ${child.exitCode}: ${err.slice(-1500)} ${lines.slice(-5).map((l) => JSON.stringify(l.rec)).join('\n')}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`agentd: no '${msg}' within ${timeoutMs} ms`);
      await sleep(2);
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    kill();
  };
  return { child, lines, find, waitFor, stop };
}


/** /26 blocks for node-c's latency rounds: 192.168.2.64/26, .128, .192, 192.168.3.0/26, … (lab pool 192.168.0.0/16). */
function latencyCidrs(rounds: number): string[] {
  return Array.from({ length: rounds }, (_, i) => {
    const n = 0xc0a80200 + 64 * (i + 1);
    return `${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')}/26`;
  });
}

async function scaleRuns(o: EtcdBenchOptions): Promise<Pick<EtcdBenchResult, 'load' | 'cold' | 'churn' | 'startError'>> {
  const ns = scratchNetns('etcd');
  ns.ip('link', 'set', 'lo', 'up');
  ns.ip('link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p');
  ns.ip('addr', 'add', `${nodeAddress(0)}/12`, 'dev', 'up0');
  ns.ip('link', 'set', 'up0', 'up');
  ns.ip('link', 'set', 'up0p', 'up');
  let etcd: TestEtcd | undefined;
  let removeDir = () => undefined as void;
  try {
    etcd = await TestEtcd.create({ netns: ns.name, host: '127.0.0.1' });
    const dir = etcd.dir;
    removeDir = onCleanup(`dir:${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
    const load = await runChild<LoadResult>(ns.name, { job: 'load', endpoint: etcd.endpoint, nodes: o.nodes, blocksPerNode: o.blocksPerNode, concurrency: 8 });
    o.log(`  etcd loaded: ${load.keys.toLocaleString('en')} keys in ${load.txns} txns, ${(load.ms / 1000).toFixed(1)} s (${load.keysPerSecond.toFixed(0)} keys/s)`);
    const cold: EtcdColdRound[] = [];
    let churn: EtcdBenchResult['churn'] | undefined;
    // The routes map: every remote block, our own blocks and the pool (decap checks inner addresses against them).
    const routes = o.nodes * o.blocksPerNode + 1;
    for (let round = 0; round < o.rounds; round++) {
      const pin = persistentPinDir();
      const agentd = spawnAgentd(ns.name, etcd.endpoint, pin.dir);
      try {
        let ready: LogLine;
        try {
          ready = await agentd.waitFor('agentd ready', 120_000);
        } catch (e) {
          if (round > 0) throw e;
          const fatal = agentd.lines.find((l) => Number(l.rec['level']) >= 60);
          const startError = fatal ? String(fatal.rec.msg) : e instanceof Error ? e.message.slice(0, 500) : String(e);
          o.log(`  agentd did not start: ${startError}`);
          return { load, cold, startError };
        }
        const pid = agentd.child.pid!;
        const rssReadyMiB = procStatus(pid, 'VmRSS');
        const read = agentd.find('manifests read')!;
        const adopted = agentd.find('node state adopted')!;
        const first = agentd.find('reconciled')!;
        const kernelRoutes = (spawnSync('ip', ['-n', ns.name, 'route', 'show', 'proto', '211'], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout ?? '').split('\n').filter(Boolean).length;
        const r: EtcdColdRound = {
          manifestsReadMs: read.t,
          adoptedMs: adopted.t,
          firstReconciledMs: first.t,
          readyMs: ready.t,
          firstCycleMs: Number(first.rec['durationMs']),
          routesInMap: Number(read.rec['routes']),
          kernelRoutes,
          rssReadMiB: Number(read.rec['rssMiB']),
          rssReadyMiB,
          hwmReadyMiB: procStatus(pid, 'VmHWM'),
          cpuReadyMs: Number(ready.rec['cpuMs']),
          rssSettledMiB: NaN,
        };
        await sleep(2000);
        r.rssSettledMiB = procStatus(pid, 'VmRSS');
        cold.push(r);
        o.log(`  agentd cold start ${round + 1}/${o.rounds}: manifests read ${r.manifestsReadMs.toFixed(0)} ms, adopted ${r.adoptedMs.toFixed(0)}, first reconciled ${r.firstReconciledMs.toFixed(0)} (cycle ${r.firstCycleMs.toFixed(0)}), ready ${r.readyMs.toFixed(0)} ms (CPU ${r.cpuReadyMs.toFixed(0)} ms); ${r.routesInMap} routes, ${kernelRoutes} kernel routes; RSS ${r.rssReadyMiB.toFixed(0)} MiB, 2 s later ${r.rssSettledMiB.toFixed(0)} MiB, HWM ${r.hwmReadyMiB.toFixed(0)} MiB`);
        // One kernel route for the one IPIP pool (docs/datapath.md, "The path").
        if (r.routesInMap !== routes || kernelRoutes !== 1) throw new Error(`agentd: expected ${routes} routes and 1 kernel route, got ${r.routesInMap} derived and ${kernelRoutes} kernel routes`);
        if (round === o.rounds - 1) {
          const mark = agentd.lines.length;
          const count = o.churnCount ?? 20_000;
          const c = await runChild<ChurnResult>(ns.name, {
            job: 'churn', endpoint: etcd.endpoint, pinRoot: pin.dir, pid, nodes: o.nodes, blocksPerNode: o.blocksPerNode, count, concurrency: 8, timeoutMs: 120_000, stallMs: 10_000,
          });
          // The add phase's log lines: up to the first removal's delivery.
          const during = agentd.lines.slice(mark);
          const applied = during.filter((l) => l.rec.msg === 'source events applied');
          let addSinks = applied;
          let seen = 0;
          const cut = applied.findIndex((l) => (seen += Number(l.rec['events'])) >= count);
          if (cut >= 0) addSinks = applied.slice(0, cut + 1);
          const tEnd = addSinks.at(-1)?.t ?? Infinity;
          const addCycles = during.filter((l) => l.rec.msg === 'reconciled' && l.t <= tEnd + 10_000 && String(l.rec['reason'] ?? '').includes('changed')).length;
          churn = { ...c, addSinkCalls: addSinks.length, addEventsPerSink: summarize(addSinks.map((l) => Number(l.rec['events']))), addCycles };
          // NaN comes back from the child's JSON as null.
          const f = (x: number | null): string => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(0));
          const p = (x: ChurnResult['add']) =>
            `${x.missing > 0 ? `${x.missing} NEVER SHOWN (map unchanged for 10 s); ${x.count - x.missing} in ${f(x.lastChangeMs)} ms = ${f(x.appliedPerSecond)}/s; ` : ''}${x.count} in ${f(x.visibleMs)} ms (writes ${f(x.writeMs)} ms = ${f(x.writePerSecond)}/s; end to end ${f(x.endToEndPerSecond)}/s, lag ${f(x.lagMs)} ms), RSS max ${f(x.rssMaxMiB)} / after ${f(x.rssAfterMiB)} MiB`;
          o.log(`  churn add: ${p(c.add)}; ${addSinks.length} watch deliveries (median ${churn.addEventsPerSink.median} events), ~${addCycles} cycles`);
          o.log(`  churn remove: ${p(c.remove)}; VmHWM ${c.hwmMiB.toFixed(0)} MiB`);
        }
      } catch (e) {
        // What agentd said besides its routine lines: the likeliest explanation of a failure.
        const said = agentd.lines.filter((l) => Number(l.rec['level']) >= 40).slice(-5).map((l) => JSON.stringify(l.rec).slice(0, 500));
        throw said.length > 0 ? new Error(`${e instanceof Error ? e.message : String(e)}\nagentd warned:\n${said.join('\n')}`) : e;
      } finally {
        await agentd.stop();
        // BURROW_BENCH_DUMP=<file>: the last agentd's log lines, time-stamped (for a diagnosis).
        if (process.env['BURROW_BENCH_DUMP']) fs.writeFileSync(process.env['BURROW_BENCH_DUMP'], agentd.lines.map((l) => `${l.t.toFixed(1)} ${JSON.stringify(l.rec)}`).join('\n'));
        pin.remove();
        // --cleanup-on-exit removes its kernel routes; make sure before the next cold start.
        try {
          ns.ip('route', 'flush', 'proto', '211');
        } catch {
          // none left
        }
      }
    }
    return { load, cold, ...(churn ? { churn } : {}) };
  } finally {
    await etcd?.destroy();
    removeDir();
    ns.destroy();
  }
}

async function latencyRuns(o: EtcdBenchOptions): Promise<EtcdBenchResult['latency']> {
  const rounds = o.latencyRounds ?? 20;
  const lab = Lab.create();
  const unlab = onCleanup(`lab:${lab.prefix}`, () => lab.destroy());
  let etcd: TestEtcd | undefined;
  let removeDir = () => undefined as void;
  try {
    const a = lab.node('node-a');
    etcd = await TestEtcd.create({ netns: a.ns, host: a.address });
    const dir = etcd.dir;
    removeDir = onCleanup(`dir:${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
    etcd.ops(etcdOpsFor([poolManifest({ ipipMode: 'Always' }, lab.topology), ...Object.values(clusterManifests(lab.topology))]));
    const agents: LabAgent[] = await Promise.all([...lab.nodes.keys()].map((n) => startAgent(lab, n, { extraArgs: ['--datastore', 'etcdv3', '--etcd-endpoints', etcd!.endpoint] })));
    void agents;
    const res = await runChild<LatencyResult>(a.ns, {
      job: 'latency', endpoint: etcd.endpoint, pinRoots: ['node-a', 'node-b'].map((n) => lab.node(n).pinRoot), node: 'node-c', cidrs: latencyCidrs(rounds), timeoutMs: 10_000,
    });
    const out = { ...res, rounds, addSummary: summarize(res.addMs), removeSummary: summarize(res.removeMs) };
    o.log(`  lab: block put → in node-a's and node-b's maps ${fmt(out.addSummary, 1)} ms; deleted → gone ${fmt(out.removeSummary, 1)} ms (${rounds} rounds)`);
    return out;
  } finally {
    await etcd?.destroy();
    removeDir();
    unlab();
  }
}

export async function runEtcd(opts: EtcdBenchOptions): Promise<EtcdBenchResult> {
  const etcdVersion = /etcd Version: (\S+)/.exec((await new Promise<string>((resolve) => {
    const c = spawn('etcd', ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let s = '';
    c.stdout.on('data', (b: Buffer) => (s += b.toString()));
    c.on('close', () => resolve(s));
    c.on('error', () => resolve(''));
  })))?.[1] ?? 'unknown';
  const scale = await scaleRuns(opts);
  const latency = await latencyRuns(opts);
  return {
    nodes: opts.nodes,
    blocksPerNode: opts.blocksPerNode,
    routes: opts.nodes * opts.blocksPerNode + 1,
    ...scale,
    coldReadyMs: summarize(scale.cold.map((c) => c.readyMs)),
    coldReadMs: summarize(scale.cold.map((c) => c.manifestsReadMs)),
    coldFirstReconciledMs: summarize(scale.cold.map((c) => c.firstReconciledMs)),
    coldFirstCycleMs: summarize(scale.cold.map((c) => c.firstCycleMs)),
    latency,
    etcdVersion,
  };
}

// ---------------------------------------------------------------------------------------------- report

const GOAL_COLD_MS = 3000;
const GOAL_LATENCY_MS = 100;
const GOAL_EVENTS_PER_S = 1000;
const GOAL_RSS_MB = 150;

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Markdown for the 'etcd' section (method paragraph, tables, issue 10's goals): pure. */
export function etcdTable(r: EtcdBenchResult): string {
  const n = (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
  const ok = (b: boolean) => (b ? 'met' : '**missed**');
  const cold = r.cold;
  const rssMB = (mib: number) => mib * 1.048576;
  if (r.startError || !r.churn) {
    return `agentd \`--datastore etcdv3\` against a real etcd (${r.etcdVersion}) holding one IPIP pool 10.0.0.0/8, ${n(r.nodes)} Nodes and
${n(r.nodes * r.blocksPerNode)} block affinities (written in ${n(r.load.txns)} transactions of 128 puts, ${n(r.load.ms / 1000, 1)} s,
${n(r.load.keysPerSecond)} keys/s), in a throwaway namespace: **agentd did not start**: ${r.startError ?? 'no churn figures'}.

${mdTable(['lab, 3 nodes, ' + r.latency.rounds + ' rounds', 'ms median (range)'], [['put → in both maps', fmt(r.latency.addSummary, 1)], ['delete → gone from both', fmt(r.latency.removeSummary, 1)]])}

**Issue 10's goals:** ${n(r.nodes)} × ${r.blocksPerNode} cold start ≤ ${n(GOAL_COLD_MS)} ms: **missed** (no start); new block → every lab node's map ≤ ${GOAL_LATENCY_MS} ms median: ${ok(r.latency.addSummary.median <= GOAL_LATENCY_MS)} (${n(r.latency.addSummary.median, 1)} ms); events/s and RSS: not measured.
`;
  }
  const add = r.churn.add;
  const rem = r.churn.remove;
  const churnRss = Math.max(add.rssMaxMiB, rem.rssMaxMiB);
  const method = `agentd with \`--datastore etcdv3\` against a real etcd (${r.etcdVersion}, Debian's etcd-server, default
settings, data directory on the VM's disk). **Cold start**: one IPIP pool 10.0.0.0/8 (blockSize 26),
${n(r.nodes)} Nodes (v3 JSON under \`/calico/resources/v3/projectcalico.org/nodes/\`) and ${n(r.nodes * r.blocksPerNode)} block
affinities (\`/calico/ipam/v2/host/<node>/ipv4/block/<cidr>\`) written into an etcd running in a
throwaway namespace (on that namespace's loopback), in transactions of 128 puts (etcd's
\`--max-txn-ops\` default), 8 in flight; agentd in the same namespace (veth uplink with node-0's
address, TC decap, kernel routes and nft, \`--log-level debug\`${process.env['BURROW_BENCH_AGENTD_ARGS'] ? `, \`${process.env['BURROW_BENCH_AGENTD_ARGS']}\`` : ''}): process spawn → its log lines as
read off its stdout — *read* = 'manifests read' (node start, etcd client, one consistent read of
the prefixes, engine validate + derive), *adopted* = maps loaded and read back, *first cycle* =
maps flushed (${n(r.routes)} entries) + the pool's one kernel route + nft + attach (its own durationMs), *ready* =
'agentd ready' (and agentd's own CPU time then, every thread: what the start costs however busy the machine is),
*RSS settled* = 2 s after ready (the post-ready memory release done). ${cold.length} rounds, each on a fresh pin root after the previous agentd cleaned up
(\`--cleanup-on-exit\`). **Churn**: with the last agentd running, ${n(add.count)} new affinities for
existing remote nodes written in transactions of 128 (8 in flight) as fast as etcd takes them,
timed from the first write to the last route present in agentd's pinned routes map; then the same
keys deleted (a change the map has not shown once it stopped changing for 10 s counts as never
shown); agentd's VmRSS sampled every 20 ms (max), 2 s after, and VmHWM at the end.
**Latency**: the lab (three nodes, src/lab) with agentd on each against one etcd in node-a's
namespace: ${r.latency.rounds} rounds of one new affinity for node-c put (192.168.2.64/26, …) →
the route in node-a's and node-b's pinned routes maps (polled every ~1 ms; max of the two), then
the key deleted → the route gone from both.`;
  const coldRows = cold.map((c, i) => [
    String(i + 1), n(c.manifestsReadMs), n(c.adoptedMs), n(c.firstCycleMs), n(c.firstReconciledMs), n(c.readyMs), n(c.cpuReadyMs), n(c.kernelRoutes), n(c.rssReadMiB), n(c.rssReadyMiB), n(c.rssSettledMiB), n(c.hwmReadyMiB),
  ]);
  const loadLine = `etcd load: ${n(r.load.keys)} keys in ${n(r.load.txns)} transactions, ${n(r.load.ms / 1000, 1)} s (${n(r.load.keysPerSecond)} keys/s).`;
  const churnRows = [['add', add], ['delete', rem]].map(([name, x]) => {
    const p = x as typeof add;
    return [name as string, n(p.count), n(p.writeMs), n(p.writePerSecond), n(p.visibleMs), n(p.lagMs), n(p.endToEndPerSecond),
      p.missing > 0 ? `**${n(p.missing)}** (the rest by ${n(p.lastChangeMs)} ms: ${n(p.appliedPerSecond)}/s)` : '0', n(p.rssMaxMiB), n(p.rssAfterMiB)];
  });
  const lat = r.latency;
  const latRows = [
    ['put → in both maps', fmt(lat.addSummary, 1)],
    ['delete → gone from both', fmt(lat.removeSummary, 1)],
  ];
  const coldReady = r.coldReadyMs.median;
  const goals = [
    [`${n(r.nodes)} × ${r.blocksPerNode} in etcd: agentd start → ready`, `${n(coldReady)} ms (read ${n(r.coldReadMs.median)}, first cycle ${n(r.coldFirstCycleMs.median)}; CPU ${n(summarize(cold.map((c) => c.cpuReadyMs)).median)} ms)`, `≤ ${n(GOAL_COLD_MS)} ms`, ok(coldReady <= GOAL_COLD_MS)],
    ['a new block in etcd → every lab node\'s map (median)', `${n(lat.addSummary.median, 1)} ms (${n(lat.addSummary.min, 1)}–${n(lat.addSummary.max, 1)})`, `≤ ${GOAL_LATENCY_MS} ms`, ok(lat.addSummary.median <= GOAL_LATENCY_MS)],
    ['watch events, etcd write → map, sustained', add.missing + rem.missing > 0
      ? `${n(add.missing)} of ${n(add.count)} adds and ${n(rem.missing)} of ${n(rem.count)} deletes never reached the map; the rest at ${n(add.appliedPerSecond)}/s and ${n(rem.appliedPerSecond)}/s`
      : `${n(add.endToEndPerSecond)}/s add, ${n(rem.endToEndPerSecond)}/s delete (${n(add.count)} each)`,
    `≥ ${n(GOAL_EVENTS_PER_S)}/s`, ok(add.missing + rem.missing === 0 && Math.min(add.endToEndPerSecond, rem.endToEndPerSecond) >= GOAL_EVENTS_PER_S)],
    ['agentd RSS during the churn', `${n(rssMB(churnRss))} MB max (${n(churnRss)} MiB), ${n(rssMB(r.churn.hwmMiB))} MB VmHWM since start`, `≤ ${GOAL_RSS_MB} MB`, ok(rssMB(churnRss) <= GOAL_RSS_MB)],
  ];
  return `${method}

${mdTable(['round', 'read ms', 'adopted ms', 'first cycle ms', 'first reconciled ms', 'ready ms', 'CPU at ready ms', 'kernel routes', 'RSS at read MiB', 'RSS ready MiB', 'RSS settled MiB', 'VmHWM ready MiB'], coldRows)}

${loadLine}

${mdTable(['churn', 'keys', 'write ms', 'etcd writes/s', 'write → all in map ms', 'lag after last write ms', 'end to end events/s', 'never in the map', 'agentd RSS max MiB', 'RSS 2 s after MiB'], churnRows)}

Watch deliveries during the add: ${n(r.churn.addSinkCalls)} ('source events applied', median ${n(r.churn.addEventsPerSink.median)} events, ${n(r.churn.addEventsPerSink.min)}–${n(r.churn.addEventsPerSink.max)}), about ${n(r.churn.addCycles)} reconcile cycles.

${mdTable(['lab, 3 nodes, ' + lat.rounds + ' rounds', 'ms median (range)'], latRows)}

**Issue 10's goals:**

${mdTable(['goal', 'now', 'target', ''], goals)}
`;
}
