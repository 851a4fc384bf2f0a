/**
 * Kernel routes at scale (issue 9: 5,000 nodes × 20 blocks = 100k proto-211 routes): what adding,
 * listing, changing and deleting them costs, and the old listing beside the new one.
 *
 *   node dist/bench/kernel-routes.js [--sizes 1000,10000,100000] [--rounds 5] [--json FILE]
 *
 * Root. Everything happens in a throwaway namespace `burrow-bench-<pid>-kr` (removed at the end,
 * also on failure or a signal): veth `up0` 172.16.0.1/12 and veth `burrow0` 10.255.255.1/32, and
 * per remote node (20 blocks each, 10.x.y.z/26) tunnel routes `via 172.16.a.b dev up0|burrow0
 * onlink mtu 1480 proto 211` (a quarter with `src`), one node in ten a direct route `via
 * 172.16.a.b` (the kernel picks up0). Listing, each variant in every round, interleaved:
 *
 *   ip -j (old)     listKernelRoutesWithIp: `ip -j -4 route show proto 211` through a pipe + JSON.parse
 *   ip -o text      `ip -4 -o route show proto 211` through a pipe, parsed by hand (below)
 *   ip -o to file   the same with ip's stdout on a file, read at once (no pipe)
 *   netlink (new)   listKernelRoutes: one RTM_GETROUTE dump (burrow_rtnl.node), parsed in TS
 *
 * Wall is the call's time; node CPU is this process's (process.cpuUsage); ip CPU is its
 * children's (utime+stime from /proc/self/stat, 10 ms ticks, summed over the children reaped in
 * the call). Figures are medians (min–max) over the rounds. Every variant's result is compared
 * with the old listing's.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';

import { run, useSystemToolPath } from '../src/agent/exec.js';
import {
  applyKernelRoutes,
  BURROW_ROUTE_PROTO,
  listKernelRoutes,
  listKernelRoutesWithIp,
  type KernelRoute,
} from '../src/agent/kernel-routes.js';
import { fmt, summarize, type Summary } from './measure.js';
import { cleanupAll, removeStale, scratchNetns, type ScratchNetns } from './scratch.js';

const PROTO = BURROW_ROUTE_PROTO;
const BLOCKS_PER_NODE = 20;

interface Cost {
  wallMs: number;
  nodeCpuMs: number;
  ipCpuMs: number;
}

function childCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 16 and 17 (cutime, cstime), counted from the state field (3)
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
}

/** Runs `fn` with this thread in `ns` for its synchronous part (spawns, the netlink dump). */
async function inNs<T>(ns: ScratchNetns, fn: () => Promise<T>): Promise<T> {
  let p!: Promise<T>;
  ns.run(() => {
    p = fn();
  });
  return p;
}

async function cost<T>(ns: ScratchNetns, fn: () => Promise<T>): Promise<{ cost: Cost; result: T }> {
  const c0 = childCpuMs();
  const u0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await inNs(ns, fn);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const u = process.cpuUsage(u0);
  return { cost: { wallMs, nodeCpuMs: (u.user + u.system) / 1000, ipCpuMs: childCpuMs() - c0 }, result };
}

// ---- the route set ---------------------------------------------------------------------------

function nodeGateway(node: number): string {
  return `172.16.${1 + (node >> 8)}.${node & 255}`;
}

function blockCidr(i: number): string {
  const n = i * 64;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}/26`;
}

function routesFor(count: number): KernelRoute[] {
  const out: KernelRoute[] = [];
  for (let i = 0; i < count; i++) {
    const node = Math.floor(i / BLOCKS_PER_NODE);
    const via = nodeGateway(node);
    if (node % 10 === 9) {
      out.push({ dst: blockCidr(i), via });
      continue;
    }
    const dev = node % 2 ? 'up0' : 'burrow0';
    const r: KernelRoute = { dst: blockCidr(i), dev, via, onlink: true, mtu: 1480 };
    if (node % 4 === 1) r.src = dev === 'up0' ? '172.16.0.1' : '10.255.255.1';
    out.push(r);
  }
  return out;
}

/** What the kernel reports for `routesFor` (a direct route's device is the one it picked). */
function expected(routes: readonly KernelRoute[]): KernelRoute[] {
  return routes.map((r) => (r.dev ? r : { dst: r.dst, dev: 'up0', via: r.via }));
}

// ---- `ip -o route show` text, parsed by hand (the alternative that was measured) -------------

const RT_FLAGS = new Set(['dead', 'onlink', 'pervasive', 'offload', 'trap', 'notify', 'linkdown', 'unresolved', 'rt_offload', 'rt_trap', 'rt_offload_failed']);
const ROUTE_TYPES = new Set(['unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat', 'xresolve']);
const KEYED = new Set(['nhid', 'table', 'proto', 'scope', 'metric', 'mark', 'realm', 'realms', 'uid', 'pref', 'tos', 'from', 'iif', 'expires', 'error']);
const METRICS = new Set(['mtu', 'advmss', 'window', 'rtt', 'rttvar', 'ssthresh', 'cwnd', 'initcwnd', 'initrwnd', 'reordering', 'hoplimit', 'features', 'quickack', 'congctl', 'rto_min', 'fastopen_no_cookie']);

/**
 * One line of `ip -4 -o route show proto N`: fields in print_route's order (type, dst, nhid, via,
 * dev, table, proto, scope, src, metric, flags, mark, …, metrics). A token it does not know throws:
 * nothing is silently dropped.
 */
export function parseIpRouteLine(line: string): KernelRoute {
  const t = line.trim().split(/\s+/);
  let i = 0;
  if (ROUTE_TYPES.has(t[0]!) && t.length > 1) i++;
  const first = t[i++]!;
  const route: KernelRoute = { dst: first === 'default' ? '0.0.0.0/0' : first.includes('/') ? first : `${first}/32` };
  let mtu: number | undefined;
  let onlink = false;
  while (i < t.length) {
    const k = t[i++]!;
    if (k === 'via') {
      if (t[i] === 'inet') i++;
      route.via = t[i++];
    } else if (k === 'dev') route.dev = t[i++];
    else if (k === 'src') route.src = t[i++];
    else if (RT_FLAGS.has(k)) onlink ||= k === 'onlink';
    else if (KEYED.has(k)) i++;
    else if (METRICS.has(k)) {
      if (t[i] === 'lock') i++;
      const v = t[i++];
      if (k === 'mtu') mtu = Number(v);
    } else throw new Error(`ip route line: unexpected '${k}' in: ${line}`);
    if (i > t.length) throw new Error(`ip route line: '${k}' without a value in: ${line}`);
  }
  if (mtu) route.mtu = mtu;
  if (onlink) route.onlink = true;
  return route;
}

function parseIpRouteText(out: string): KernelRoute[] {
  const routes: KernelRoute[] = [];
  for (const line of out.split('\n')) if (line) routes.push(parseIpRouteLine(line));
  return routes;
}

async function listWithIpText(): Promise<KernelRoute[]> {
  return parseIpRouteText(await run(['ip', '-4', '-o', 'route', 'show', 'proto', String(PROTO)]));
}

/** ip's stdout on an (unlinked) file instead of a pipe: one read instead of one per route. */
function listWithIpTextFile(): Promise<KernelRoute[]> {
  const file = `${os.tmpdir()}/burrow-bench-${process.pid}-kr-out`;
  const fd = fs.openSync(file, 'w+');
  fs.unlinkSync(file);
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-4', '-o', 'route', 'show', 'proto', String(PROTO)], { stdio: ['ignore', fd, 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        if (code !== 0) throw new Error(`ip exited ${code}`);
        const size = fs.fstatSync(fd).size;
        const buf = Buffer.allocUnsafe(size);
        fs.readSync(fd, buf, 0, size, 0);
        resolve(parseIpRouteText(buf.toString('latin1')));
      } catch (e) {
        reject(e);
      } finally {
        fs.closeSync(fd);
      }
    });
  });
}

// ---- the benchmark ---------------------------------------------------------------------------

interface Options {
  sizes: number[];
  rounds: number;
  json?: string;
}

interface CostSummary {
  wallMs: Summary;
  nodeCpuMs: Summary;
  ipCpuMs: Summary;
}

interface SizeResult {
  routes: number;
  nodes: number;
  add: Cost;
  list: Record<string, CostSummary & { sameAsOld: boolean }>;
  replaceAllUnchanged: Cost;
  change10: Cost;
  remove10add10: Cost;
  deleteAll: Cost;
}

const LISTERS: [string, () => Promise<KernelRoute[]>][] = [
  ['ip -j (old)', () => listKernelRoutesWithIp(PROTO)],
  ['ip -o text', listWithIpText],
  ['ip -o to file', listWithIpTextFile],
  ['netlink (new)', () => listKernelRoutes(PROTO)],
];

function summarizeCosts(costs: Cost[]): CostSummary {
  return {
    wallMs: summarize(costs.map((c) => c.wallMs)),
    nodeCpuMs: summarize(costs.map((c) => c.nodeCpuMs)),
    ipCpuMs: summarize(costs.map((c) => c.ipCpuMs)),
  };
}

function makeNamespace(): ScratchNetns {
  const ns = scratchNetns('kr');
  for (const [dev, peer, addr] of [['up0', 'up0p', '172.16.0.1/12'], ['burrow0', 'burrow0p', '10.255.255.1/32']] as const) {
    ns.ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', peer);
    ns.ip('link', 'set', dev, 'up');
    ns.ip('link', 'set', peer, 'up');
    ns.ip('addr', 'add', addr, 'dev', dev);
  }
  return ns;
}

const line = (label: string, c: Cost): string =>
  `  ${label.padEnd(34)} wall ${c.wallMs.toFixed(0).padStart(6)} ms   ip CPU ${c.ipCpuMs.toFixed(0).padStart(6)} ms   node CPU ${c.nodeCpuMs.toFixed(0).padStart(4)} ms`;

async function measureSize(count: number, rounds: number, log: (s: string) => void): Promise<SizeResult> {
  const ns = makeNamespace();
  try {
    const routes = routesFor(count);
    const want = expected(routes);
    const nodes = Math.ceil(count / BLOCKS_PER_NODE);
    log(`\n${count} routes (${nodes} nodes × ${BLOCKS_PER_NODE} blocks)`);

    const add = (await cost(ns, () => applyKernelRoutes(routes, [], PROTO))).cost;
    log(line(`add ${count} (ip -batch)`, add));

    const costs = new Map<string, Cost[]>(LISTERS.map(([name]) => [name, []]));
    const same = new Map<string, boolean>(LISTERS.map(([name]) => [name, true]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, list] of LISTERS) {
        const { cost: c, result } = await cost(ns, list);
        costs.get(name)!.push(c);
        if (!isDeepStrictEqual(result, want)) same.set(name, false);
      }
    }
    const list: SizeResult['list'] = {};
    for (const [name] of LISTERS) {
      const s = summarizeCosts(costs.get(name)!);
      list[name] = { ...s, sameAsOld: same.get(name)! };
      log(`  list: ${name.padEnd(14)} wall ${fmt(s.wallMs, 0).padEnd(16)} ms  ip CPU ${fmt(s.ipCpuMs, 0).padEnd(14)} ms  node CPU ${fmt(s.nodeCpuMs, 0).padEnd(14)} ms  ${same.get(name) ? 'result = expected' : 'RESULT DIFFERS'}`);
    }

    const replaceAllUnchanged = (await cost(ns, () => applyKernelRoutes(routes, [], PROTO))).cost;
    log(line(`replace all ${count}, none changed`, replaceAllUnchanged));

    // An event: 10 routes change MTU (IPIP → VXLAN on some nodes).
    const picks = Array.from({ length: 10 }, (_, k) => Math.floor(((k + 0.5) * count) / 10));
    const changed = picks.map((i) => ({ ...routes[i]!, mtu: 1450, onlink: true, dev: routes[i]!.dev ?? 'up0' }));
    const change10 = (await cost(ns, () => applyKernelRoutes(changed, [], PROTO))).cost;
    log(line('10 routes changed (mtu)', change10));

    // Another: one node (its blocks) goes, another comes; 10 of each.
    const gone = picks.map((i) => routes[i]!);
    const fresh = picks.map((i, k) => ({ dst: `11.0.${k}.0/26`, dev: 'burrow0', via: nodeGateway(Math.floor(i / BLOCKS_PER_NODE)), onlink: true, mtu: 1480 }));
    const remove10add10 = (await cost(ns, () => applyKernelRoutes(fresh, gone, PROTO))).cost;
    log(line('10 removed + 10 added', remove10add10));

    const now = await inNs(ns, () => listKernelRoutes(PROTO));
    if (now.length !== count) throw new Error(`expected ${count} routes after the changes, listed ${now.length}`);
    const deleteAll = (await cost(ns, () => applyKernelRoutes([], now, PROTO))).cost;
    log(line(`delete all ${count} (ip -batch)`, deleteAll));
    const left = await inNs(ns, () => listKernelRoutes(PROTO));
    if (left.length !== 0) throw new Error(`${left.length} routes left after deleting all`);
    return { routes: count, nodes, add, list, replaceAllUnchanged, change10, remove10add10, deleteAll };
  } finally {
    ns.destroy();
  }
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { sizes: [1000, 10000, 100000], rounds: 5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--sizes' && v) (opts.sizes = v.split(',').map(Number)), i++;
    else if (a === '--rounds' && v) (opts.rounds = Number(v)), i++;
    else if (a === '--json' && v) (opts.json = v), i++;
    else throw new Error(`usage: node dist/bench/kernel-routes.js [--sizes 1000,10000,100000] [--rounds N] [--json FILE] (not '${a}')`);
  }
  if (opts.sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 200000)) throw new Error('--sizes: integers 1..200000');
  return opts;
}

async function main(): Promise<void> {
  useSystemToolPath();
  if (process.getuid?.() !== 0) throw new Error('kernel-routes bench: needs root (network namespaces)');
  const opts = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stdout.write(`${s}\n`);
  for (const r of removeStale()) log(`removed leftover ${r}`);
  const ipVersion = await new Promise<string>((resolve) => execFile('ip', ['-V'], (_e, out) => resolve(out.trim())));
  log(`kernel ${os.release()}, ${ipVersion}, ${os.cpus().length} CPUs, node ${process.version}; rounds ${opts.rounds}`);
  const results: SizeResult[] = [];
  for (const size of opts.sizes) results.push(await measureSize(size, opts.rounds, log));

  const big = results[results.length - 1]!;
  log(`\nresync budget (issue 9: ≤ 300 ms, ≤ 1 s CPU per minute at one resync per 30 s) at ${big.routes} routes:`);
  for (const [name, s] of Object.entries(big.list)) {
    const cpu = s.nodeCpuMs.median + s.ipCpuMs.median;
    log(`  ${name.padEnd(14)} ${s.wallMs.median.toFixed(0).padStart(5)} ms wall, ${cpu.toFixed(0).padStart(5)} ms CPU per listing → ${((2 * cpu) / 1000).toFixed(2)} s CPU per minute`);
  }
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ machine: { kernel: os.release(), ip: ipVersion, cpus: os.cpus().length, node: process.version }, results }, null, 2));
}

main().then(
  () => cleanupAll(),
  (e: unknown) => {
    cleanupAll();
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
