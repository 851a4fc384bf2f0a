/**
 * §6 Incremental control plane (issue 9; src/engine, docs/control-plane.md). For N routes
 * (1k = 100 × 10, 10k = 1,000 × 10, 100k = 5,000 × 20 nodes × blocks, +1 local node), in JSON
 * lists (`kubectl get -o json`) and in one multi-document YAML (one resource per document, as
 * `calicoctl get -o yaml` writes it, 16 MB at 100k):
 *
 *   cold      file source → engine → empty maps (engine-child.ts, its own process and mount
 *             namespace): wall and CPU ms, RSS after
 *   events    node added / removed, block added / removed, pool mode flipped: event → maps, median
 *   resync    nothing to change: read back and compare, in slices
 *   validate  `agentctl validate -f` of the YAML: wall s and max RSS (GNU time)
 *   agentd    the real daemon in a throwaway namespace at the largest size (JSON): start → ready,
 *             RSS after, CPU over a minute idle with the default 30 s resync, peak RSS
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

import type { EngineChildOptions, EngineChildResult } from './engine-child.js';
import { runJsonChild, sleep, summarize, type Summary } from './measure.js';
import { blockManifests, LOCAL_NODE, nodeAddress, nodeManifest, POOL_CIDR, writeScaleManifests } from './scale-manifests.js';
import { onCleanup, persistentPinDir, scratchNetns } from './scratch.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HERE, 'engine-child.js');
const AGENTD = path.resolve(HERE, '../src/agent/agentd.js');
const AGENTCTL = path.resolve(HERE, '../src/cli/agentctl.js');

export interface EngineBenchOptions {
  sizes: number[];
  rounds: number;
  agentdSizes: number[];
  idleSeconds: number;
  log: (line: string) => void;
}

export interface EngineSizeResult {
  routes: number;
  nodes: number;
  blocksPerNode: number;
  format: 'json' | 'yaml';
  fileMiB: number;
  coldMs: Summary;
  coldCpuMs: Summary;
  coldSourceMs: Summary;
  coldAdoptMs: Summary;
  /** The derive part of coldSourceMs. */
  coldDeriveMs: Summary;
  coldFlushMs: Summary;
  rawWriteMs: Summary;
  events: Record<string, Summary>;
  eventChanges: Record<string, number>;
  resyncMs: Summary;
  resyncCpuMs: Summary;
  rssAfterColdMiB: Summary;
  peakRssMiB: Summary;
  validate?: { seconds: number; maxRssMiB: number; ok: boolean };
}

export interface AgentdIdleResult {
  routes: number;
  readyMs: number;
  rssReadyMiB: number;
  rssIdleMiB: number;
  peakRssMiB: number;
  idleSeconds: number;
  cpuMsPerMinute: number;
}

export interface EngineBenchResult {
  sizes: EngineSizeResult[];
  /** Older results have one, at the largest size. */
  agentd?: AgentdIdleResult;
  agentds?: AgentdIdleResult[];
}

function shapeOf(routes: number): { nodes: number; blocksPerNode: number } {
  const blocksPerNode = routes >= 100_000 ? 20 : 10;
  return { nodes: routes / blocksPerNode + 1, blocksPerNode };
}

/** Every resource one per YAML document in one file. */
function writeMultiDocYaml(dir: string, nodes: number, blocksPerNode: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(path.join(dir, 'calico.yaml'), 'w');
  const put = (doc: object) => fs.writeSync(fd, `---\n${stringify(doc)}`);
  put({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'bench-pool' }, spec: { cidr: POOL_CIDR, blockSize: 26, ipipMode: 'Always' } });
  for (let i = 0; i < nodes; i++) put(nodeManifest(i));
  for (let i = 0; i < nodes; i++) for (const b of blockManifests(i, blocksPerNode)) put(b);
  fs.closeSync(fd);
}

function runChild(opts: EngineChildOptions): Promise<EngineChildResult> {
  return runJsonChild(['unshare', '--mount', '--propagation', 'private', process.execPath, CHILD, JSON.stringify(opts)], 'engine child');
}

function timeValidate(dir: string): { seconds: number; maxRssMiB: number; ok: boolean } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, AGENTCTL, 'validate', '-f', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  return { seconds: m ? Number(m[1]) : NaN, maxRssMiB: m ? Number(m[2]) / 1024 : NaN, ok: r.status === 0 };
}

const dirSizeMiB = (dir: string) => fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0) / 2 ** 20;

export async function runEngine(opts: EngineBenchOptions): Promise<EngineBenchResult> {
  const sizes: EngineSizeResult[] = [];
  const agentds: AgentdIdleResult[] = [];
  for (const routes of opts.sizes) {
    const shape = shapeOf(routes);
    for (const format of ['json', 'yaml'] as const) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `burrow-bench-${process.pid}-engine-`));
      const removeDir = onCleanup(`dir:${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
      try {
        const manifests = path.join(dir, 'manifests');
        if (format === 'json') writeScaleManifests(manifests, { ...shape, format: 'json' });
        else writeMultiDocYaml(manifests, shape.nodes, shape.blocksPerNode);
        const runs: EngineChildResult[] = [];
        for (let round = 0; round < opts.rounds; round++) {
          runs.push(await runChild({ manifests, extraNode: shape.nodes, blocksPerNode: shape.blocksPerNode, rounds: 5 }));
        }
        const events: Record<string, Summary> = {};
        for (const name of Object.keys(runs[0]!.eventMs)) events[name] = summarize(runs.flatMap((r) => r.eventMs[name] ?? []));
        const res: EngineSizeResult = {
          routes: runs[0]!.routes,
          nodes: shape.nodes,
          blocksPerNode: shape.blocksPerNode,
          format,
          fileMiB: dirSizeMiB(manifests),
          coldMs: summarize(runs.map((r) => r.coldMs)),
          coldCpuMs: summarize(runs.map((r) => r.coldCpuMs)),
          coldSourceMs: summarize(runs.map((r) => r.coldPhasesMs.source)),
          coldAdoptMs: summarize(runs.map((r) => r.coldPhasesMs.adopt)),
          coldDeriveMs: summarize(runs.map((r) => r.coldPhasesMs.derive ?? NaN)),
          coldFlushMs: summarize(runs.map((r) => r.coldPhasesMs.flush)),
          rawWriteMs: summarize(runs.flatMap((r) => r.rawWriteMs)),
          events,
          eventChanges: runs[0]!.eventChanges,
          resyncMs: summarize(runs.flatMap((r) => r.resyncMs)),
          resyncCpuMs: summarize(runs.flatMap((r) => r.resyncCpuMs)),
          rssAfterColdMiB: summarize(runs.map((r) => r.rssAfterColdMiB)),
          peakRssMiB: summarize(runs.map((r) => r.maxRssMiB)),
        };
        if (format === 'yaml') res.validate = timeValidate(manifests);
        const f = (s: Summary | undefined) => (s ? s.median.toFixed(s.median < 10 ? 1 : 0) : '-');
        opts.log(`  engine ${routes} routes (${format}, ${res.fileMiB.toFixed(1)} MiB): cold ${f(res.coldMs)} ms, node added ${f(events['node added'])} ms, block added ${f(events['block added'])} ms, pool flip ${f(events['pool mode flipped'])} ms, resync ${f(res.resyncMs)} ms, RSS ${f(res.rssAfterColdMiB)} / peak ${f(res.peakRssMiB)} MiB${res.validate ? `; agentctl validate ${res.validate.seconds} s, ${res.validate.maxRssMiB.toFixed(0)} MiB` : ''}`);
        sizes.push(res);
        if (format === 'json' && opts.agentdSizes.includes(routes)) {
          const agentd = await agentdIdle(manifests, routes, opts.idleSeconds);
          agentds.push(agentd);
          opts.log(`  agentd ${routes} routes: ready in ${agentd.readyMs.toFixed(0)} ms, RSS ${agentd.rssReadyMiB.toFixed(0)} MiB, idle ${agentd.rssIdleMiB.toFixed(0)} MiB, peak ${agentd.peakRssMiB.toFixed(0)} MiB, CPU ${agentd.cpuMsPerMinute.toFixed(0)} ms per idle minute`);
        }
      } finally {
        removeDir();
      }
    }
  }
  return { sizes, agentds };
}

const TICK_MS = 1000 / 100; // USER_HZ

function procCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime
}

function procStatus(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** agentd with kernel routes and nft, default resync (30 s), idle for `seconds` after ready. */
async function agentdIdle(manifests: string, routes: number, seconds: number): Promise<AgentdIdleResult> {
  const ns = scratchNetns('engine-agentd');
  const pin = persistentPinDir();
  ns.ip('link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p');
  ns.ip('addr', 'add', `${nodeAddress(0)}/12`, 'dev', 'up0');
  ns.ip('link', 'set', 'up0', 'up');
  ns.ip('link', 'set', 'up0p', 'up');
  const started = process.hrtime.bigint();
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, AGENTD, '--node', LOCAL_NODE, '--manifests', manifests, '--uplink', 'up0',
    '--pin-root', pin.dir, '--decap-hook', 'tc', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = onCleanup(`agentd:${child.pid}`, () => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  try {
    const t0 = Date.now();
    while (!out.includes('"agentd ready"')) {
      if (child.exitCode !== null) throw new Error(`agentd exited ${child.exitCode}: ${err.slice(-1000)} ${out.slice(-1000)}`);
      if (Date.now() - t0 > 300_000) throw new Error('agentd: not ready within 300 s');
      await sleep(5);
    }
    const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
    // `ip netns exec` execs node: the child's pid is agentd's.
    const pid = child.pid!;
    const rssReadyMiB = procStatus(pid, 'VmRSS');
    const cpu0 = procCpuMs(pid);
    await sleep(seconds * 1000);
    const cpuMsPerMinute = ((procCpuMs(pid) - cpu0) * 60) / seconds;
    return { routes, readyMs, rssReadyMiB, rssIdleMiB: procStatus(pid, 'VmRSS'), peakRssMiB: procStatus(pid, 'VmHWM'), idleSeconds: seconds, cpuMsPerMinute };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    stop();
    // agentd leaves the datapath (routes, nft) in its namespace on SIGTERM: the namespace goes with them.
    ns.destroy();
    pin.remove();
  }
}
