/**
 * §5 Control plane: manifests → maps for N tunnel routes (N = 1k, 10k, 100k), each measurement in
 * a child process (control-plane-child.ts) in a private mount namespace, so its peak RSS is its
 * own and its bpffs pins vanish with it.
 *
 *   full      load + validate, compile, reconcile into empty maps (encode, read, check, plan,
 *             apply), a resync with nothing to do, one node added then removed (file write →
 *             maps updated, through the reconciler)
 *   raw       the baseline: the same entries encoded beforehand, written with BpfMap.setBatch
 *   syscalls  `strace -f -c` of `full` (apply only) minus the same run stopping before the
 *             apply: the syscalls the apply makes, per route
 *   agentd    the real daemon in a throwaway namespace (veth uplink, TC decap, debounce 0):
 *             start to ready, and manifest write → first new route in the pinned map; its
 *             cycles also reconcile the kernel routes (ip -batch) and nft.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BpfMap, burrowRoute, burrowRouteKey } from '../src/bpf/index.js';
import type { ChildOptions, ChildResult } from './control-plane-child.js';
import { pairedRatio, runJsonChild, sleep, summarize, type Summary } from './measure.js';
import { blockCidr, blockInMap, blockManifests, LOCAL_NODE, nodeAddress, nodeManifest, writeScaleManifests, type ScaleSpec } from './scale-manifests.js';
import { onCleanup, persistentPinDir, scratchNetns } from './scratch.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HERE, 'control-plane-child.js');
const AGENTD = path.resolve(HERE, '../src/agent/agentd.js');

export interface ControlPlaneOptions {
  sizes: number[];
  rounds: number;
  syscalls: boolean;
  /** Sizes at which agentd is measured too. */
  agentdSizes: number[];
  log: (line: string) => void;
}

export interface SizeResult {
  routes: number;
  nodes: number;
  blocksPerNode: number;
  /** Phase → wall ms over rounds. */
  ms: Record<string, Summary>;
  /** compile + encode + read + check + plan + apply (manifest load excluded). */
  compileApplyMs: Summary;
  /** load + compile + … + apply. */
  totalMs: Summary;
  rawApplyMs: Summary;
  /** (encode … apply) / raw, and (compile … apply) / raw, per round. */
  applyVsRaw: Summary;
  compileApplyVsRaw: Summary;
  peakRssMiB: Summary;
  /** VmHWM after loading the manifests, and after the first apply (before resync/incremental). */
  rssAfterLoadMiB: Summary;
  rssAfterApplyMiB: Summary;
  rawPeakRssMiB: Summary;
  changes: Record<string, number>;
  syscalls?: { applyTotal: number; applyBpf: number; perRoute: number; bpfPerRoute: number; byName: Record<string, number> };
  agentd?: AgentdResult;
}

export interface AgentdResult {
  readyMs: number;
  addMs: number;
  removeMs: number;
  addCycleMs: number | undefined;
  removeCycleMs: number | undefined;
  peakRssMiB: number;
}

export interface ControlPlaneResult {
  sizes: SizeResult[];
}

function shapeOf(routes: number): { nodes: number; blocksPerNode: number } {
  const blocksPerNode = routes >= 100_000 ? 100 : 10;
  return { nodes: routes / blocksPerNode + 1, blocksPerNode };
}

function runChild(opts: ChildOptions, wrap: string[] = []): Promise<ChildResult> {
  return runJsonChild([...wrap, 'unshare', '--mount', '--propagation', 'private', process.execPath, CHILD, JSON.stringify(opts)], `control-plane child (${opts.mode})`);
}

/** strace -c summary: syscall name → calls. */
function parseStraceSummary(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const cols = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (cols.length < 5 || !/^\d+(\.\d+)?$/.test(cols[0]!)) continue;
    const name = cols[cols.length - 1]!;
    out[name] = Number(cols[3]);
  }
  return out;
}

async function countSyscalls(base: ChildOptions, dir: string, routes: number): Promise<SizeResult['syscalls']> {
  const traced = async (mode: ChildOptions['mode']) => {
    const file = path.join(dir, `strace-${mode}.txt`);
    await runChild({ ...base, mode, phases: 'apply' }, ['strace', '-f', '-c', '-o', file]);
    return parseStraceSummary(file);
  };
  const withApply = await traced('full');
  const without = await traced('compile');
  const byName: Record<string, number> = {};
  for (const [name, n] of Object.entries(withApply)) {
    const d = n - (without[name] ?? 0);
    if (d > 0 && name !== 'total') byName[name] = d;
  }
  const applyTotal = (withApply.total ?? 0) - (without.total ?? 0);
  const applyBpf = byName.bpf ?? 0;
  return { applyTotal, applyBpf, perRoute: applyTotal / routes, bpfPerRoute: applyBpf / routes, byName };
}

const APPLY_PHASES = ['encode', 'read', 'check', 'plan', 'apply'];

function hasStrace(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
}

export async function runControlPlane(opts: ControlPlaneOptions): Promise<ControlPlaneResult> {
  const { log } = opts;
  const sizes: SizeResult[] = [];
  for (const routes of opts.sizes) {
    const shape = shapeOf(routes);
    const spec: ScaleSpec = { ...shape, format: 'json' };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `burrow-bench-${process.pid}-cp-`));
    const removeDir = onCleanup(`dir:${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
    try {
      const manifests = path.join(dir, 'manifests');
      writeScaleManifests(manifests, spec);
      const base: ChildOptions = { mode: 'full', manifests, extraNode: shape.nodes, blocksPerNode: shape.blocksPerNode };
      const full: ChildResult[] = [];
      const raw: ChildResult[] = [];
      for (let round = 0; round < opts.rounds; round++) {
        fs.rmSync(path.join(manifests, '30-extra-node.json'), { force: true });
        full.push(await runChild(base));
        raw.push(await runChild({ ...base, mode: 'raw' }));
      }
      const phases = Object.keys(full[0]!.ms);
      const ms: Record<string, Summary> = {};
      for (const p of phases) ms[p] = summarize(full.map((r) => r.ms[p] ?? NaN));
      const sum = (r: ChildResult, names: string[]) => names.reduce((a, n) => a + (r.ms[n] ?? 0), 0);
      const applyMs = full.map((r) => sum(r, APPLY_PHASES));
      const compileApply = full.map((r) => sum(r, ['compile', ...APPLY_PHASES]));
      const rawMs = raw.map((r) => r.ms.apply ?? NaN);
      const result: SizeResult = {
        routes: full[0]!.routes,
        nodes: shape.nodes,
        blocksPerNode: shape.blocksPerNode,
        ms,
        compileApplyMs: summarize(compileApply),
        totalMs: summarize(full.map((r) => sum(r, ['load', 'compile', ...APPLY_PHASES]))),
        rawApplyMs: summarize(rawMs),
        applyVsRaw: pairedRatio(applyMs, rawMs),
        compileApplyVsRaw: pairedRatio(compileApply, rawMs),
        peakRssMiB: summarize(full.map((r) => r.maxRssMiB)),
        rssAfterLoadMiB: summarize(full.map((r) => r.hwmMiB.load ?? NaN)),
        rssAfterApplyMiB: summarize(full.map((r) => r.hwmMiB.apply ?? NaN)),
        rawPeakRssMiB: summarize(raw.map((r) => r.maxRssMiB)),
        changes: full[0]!.changes,
      };
      if (opts.syscalls && hasStrace()) result.syscalls = await countSyscalls(base, dir, result.routes);
      if (opts.agentdSizes.includes(routes)) result.agentd = await measureAgentd(manifests, spec);
      const f = (s: Summary) => s.median.toFixed(0);
      log(`  ${routes} routes: load ${f(ms.load!)} ms, compile+apply ${f(result.compileApplyMs)} ms (raw ${f(result.rawApplyMs)} ms, ${result.compileApplyVsRaw.median.toFixed(1)}x), peak RSS ${f(result.peakRssMiB)} MiB, resync ${f(ms.resync!)} ms, +node ${f(ms['incremental.add']!)} ms, -node ${f(ms['incremental.remove']!)} ms${result.syscalls ? `, ${result.syscalls.applyBpf} bpf() calls in the apply` : ''}${result.agentd ? `; agentd +node ${result.agentd.addMs.toFixed(0)} ms` : ''}`);
      sizes.push(result);
    } finally {
      removeDir();
    }
  }
  return { sizes };
}

interface LogLine {
  level?: number;
  msg?: string;
  durationMs?: number;
  reason?: string;
}

/** agentd in a throwaway namespace whose uplink (a veth) holds node-0's address. */
async function measureAgentd(manifestsSrc: string, spec: ScaleSpec): Promise<AgentdResult> {
  const ns = scratchNetns('agentd');
  const pin = persistentPinDir();
  const pinRoot = pin.dir;
  const manifests = fs.mkdtempSync(path.join(os.tmpdir(), `burrow-bench-${process.pid}-agentd-`));
  const removeDir = onCleanup(`dir:${manifests}`, () => fs.rmSync(manifests, { recursive: true, force: true }));
  for (const f of fs.readdirSync(manifestsSrc)) if (!f.startsWith('.') && !f.startsWith('30-')) fs.copyFileSync(path.join(manifestsSrc, f), path.join(manifests, f));
  // No dummy module on the test kernel: a veth whose peer stays in the namespace.
  ns.ip('link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0p');
  ns.ip('addr', 'add', `${nodeAddress(0)}/12`, 'dev', 'up0');
  ns.ip('link', 'set', 'up0', 'up');
  ns.ip('link', 'set', 'up0p', 'up');
  const lines: LogLine[] = [];
  const started = process.hrtime.bigint();
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, AGENTD, '--node', LOCAL_NODE, '--manifests', manifests, '--uplink', 'up0',
    '--pin-root', pinRoot, '--decap-hook', 'tc', '--debounce', '0', '--resync', '0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stopChild = onCleanup(`agentd:${child.pid}`, () => child.kill('SIGKILL'));
  let buf = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      try {
        lines.push(JSON.parse(buf.slice(0, i)) as LogLine);
      } catch {
        // not a log line
      }
      buf = buf.slice(i + 1);
    }
  });
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const waitFor = async (pred: () => boolean, what: string, timeoutMs = 300_000): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const errorsBefore = lines.filter((l) => (l.level ?? 0) >= 50).length;
    while (!pred()) {
      if (child.exitCode !== null) throw new Error(`agentd exited (${child.exitCode}) waiting for ${what}: ${stderr.slice(-1000)}`);
      const errors = lines.filter((l) => (l.level ?? 0) >= 50);
      if (errors.length > errorsBefore) throw new Error(`agentd logged an error waiting for ${what}: ${errors.pop()!.msg ?? ''}`);
      if (Number(process.hrtime.bigint() - t0) / 1e6 > timeoutMs) throw new Error(`agentd: no ${what} within ${timeoutMs} ms`);
      await sleep(1);
    }
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  try {
    await waitFor(() => lines.some((l) => l.msg === 'agentd ready'), 'ready');
    const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
    const routes = BpfMap.openPinned(path.join(pinRoot, 'routes'), burrowRouteKey, burrowRoute);
    const extraNode = spec.nodes;
    const [addr, len] = blockCidr(extraNode * spec.blocksPerNode).split('/');
    const key = { prefixlen: Number(len), addr: addr! };
    const file = path.join(manifests, '30-extra-node.json');
    const doc = { apiVersion: 'v1', kind: 'List', items: [nodeManifest(extraNode), ...blockManifests(extraNode, spec.blocksPerNode)] };
    const cycles = () => lines.filter((l) => l.msg === 'reconciled').length;
    const n0 = cycles();
    fs.writeFileSync(file, JSON.stringify(doc));
    const addMs = await waitFor(() => blockInMap(routes, key), 'added route');
    await waitFor(() => cycles() > n0, 'reconciled (add)');
    const addCycleMs = lines.filter((l) => l.msg === 'reconciled').pop()?.durationMs;
    const n1 = cycles();
    fs.rmSync(file);
    const removeMs = await waitFor(() => !blockInMap(routes, key), 'removed route');
    await waitFor(() => cycles() > n1, 'reconciled (remove)');
    const removeCycleMs = lines.filter((l) => l.msg === 'reconciled').pop()?.durationMs;
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    routes.close();
    return { readyMs, addMs, removeMs, addCycleMs, removeCycleMs, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    stopChild();
    ns.destroy();
    removeDir();
    pin.remove();
  }
}
