// Table cases in katran's fixture style — description, input (frame and tables), expected
// verdict, counter and output — checked against the codec and against the real program, each on
// its own: both must produce exactly what the row says.
import {
  STAT_NAMES, decap, encap, readU16, retvalOf,
  type DatapathResult, type FibLookup, type NexthopMap, type NodeConfig, type PeerMap, type RouteEntry, type StatName, type Verdict,
} from '../../../src/codec/index.js';
import { acceptedByTestRun } from '../../arbitraries/test-run-input.js';
import type { DifferentialRunner, BpfOutcome } from './differential.js';
import { decodeFrame } from './decode.js';
import { describeOutputDifference, toHex } from './report.js';

export interface Expected {
  readonly verdict: Verdict;
  readonly counter: StatName;
  /**
   * 'input': the frame unchanged. A function: the output for the outer IPv4 ID the program chose
   * (inner DF clear: random, never 0; the same ID is given to the codec).
   */
  readonly output: 'input' | Uint8Array | ((outerId: number) => Uint8Array);
  /** Side counters moved besides `counter` (MSS_CLAMPED, MSS_MALFORMED); default none. */
  readonly also?: readonly StatName[];
}

export type LabDevice = 'lo' | 'ua' | 'ub';

export interface EncapCase {
  readonly description: string;
  /** Where docs/datapath.md says so ("step 6", "Outer IPv4: TTL" …). */
  readonly rule: string;
  readonly frame: Uint8Array;
  readonly config?: NodeConfig;
  readonly routes?: RouteEntry[];
  /** The `peers` map (step 5: tunnel endpoints); default empty. */
  readonly peers?: PeerMap;
  /** xdp_encap: the device the frame arrives on (default lo, ifindex 1). */
  readonly ingress?: LabDevice;
  /** What tc_encap does; the case does not apply to tc_encap when absent. */
  readonly tc?: Expected;
  /** What xdp_encap does; the case does not apply to xdp_encap when absent. */
  readonly xdp?: Expected;
  /** The `pmtu` map (xdp_encap step 7b); default empty. */
  readonly pmtu?: ReadonlyMap<string, number>;
  /** The `nexthops` map (tc_encap step 8a, xdp_encap step 8); default empty. */
  readonly nexthops?: NexthopMap;
}

export interface DecapCase {
  readonly description: string;
  readonly rule: string;
  readonly frame: Uint8Array;
  readonly config?: NodeConfig;
  readonly peers?: PeerMap;
  readonly routes?: RouteEntry[];
  /** The same for tc_decap and xdp_decap (only the return codes differ)... */
  readonly expect: Expected;
  /** ...unless tc_decap's differs (step 16: the GRO hop), and then where it redirects to. */
  readonly tc?: Expected & { readonly redirectIfindex: number };
  /** The `pmtu` map before the frame (default empty) and after it (default: as before). */
  readonly pmtuBefore?: ReadonlyMap<string, number>;
  readonly pmtuAfter?: ReadonlyMap<string, number>;
}

export interface EncapContext {
  readonly config: NodeConfig;
  readonly routes: RouteEntry[];
  /** xdp: the lab's FIB model and device ifindexes. */
  readonly fib?: FibLookup;
  readonly ifindex?: Readonly<Record<LabDevice, number>>;
}

export interface CaseReport {
  /** Problems, one per line; empty when both sides did what the row says. */
  readonly problems: string[];
  /** False when the frame is not acceptedByTestRun (then only the codec was checked). */
  readonly ranProgram: boolean;
}

const OUTER_ID_OFFSET = 18;
const NO_PEERS: PeerMap = new Map();
const VXLAN_PORTS = [4789, 8472];
const indent = (lines: string[]): string[] => lines.map((l) => `    ${l}`);

function expectedOutput(expected: Expected, frame: Uint8Array, outerId: number): Uint8Array {
  if (expected.output === 'input') return frame;
  return typeof expected.output === 'function' ? expected.output(outerId) : expected.output;
}

function compareCodec(model: DatapathResult, expected: Expected, want: Uint8Array): string[] {
  const problems: string[] = [];
  if (model.verdict !== expected.verdict) problems.push(`codec verdict ${model.verdict}, expected ${expected.verdict}`);
  if (model.counter !== expected.counter) problems.push(`codec counter ${model.counter}, expected ${expected.counter}`);
  const also = (model.also ?? []).join(' ') || 'none';
  const wantAlso = (expected.also ?? []).join(' ') || 'none';
  if (also !== wantAlso) problems.push(`codec side counters ${also}, expected ${wantAlso}`);
  if (Buffer.compare(Buffer.from(model.output), Buffer.from(want)) !== 0) {
    problems.push('codec output differs from the expected output:', ...indent(describeOutputDifference(
      { label: 'codec', bytes: model.output }, { label: 'expected', bytes: want }, VXLAN_PORTS)));
  }
  return problems;
}

function compareBpf(hook: 'tc' | 'xdp', bpf: BpfOutcome, expected: Expected, want: Uint8Array, length: number): string[] {
  const problems: string[] = [];
  const retval = retvalOf(hook, expected.verdict);
  if (bpf.retval !== retval) problems.push(`bpf return code ${bpf.retval}, expected ${retval} (${expected.verdict})`);
  const moved = bpf.moves.map((m) => `${m.counter} +${m.packets}/+${m.bytes}B`).join(', ') || 'none';
  const counters = [expected.counter, ...(expected.also ?? [])].sort((a, b) => STAT_NAMES.indexOf(a) - STAT_NAMES.indexOf(b));
  const exact = bpf.moves.length === counters.length && bpf.moves.every((m, i) => m.counter === counters[i] && m.packets === 1 && m.bytes === length);
  if (!exact) problems.push(`bpf counters moved: ${moved}; expected ${counters.map((c) => `${c} +1/+${length}B`).join(', ')} only`);
  if (Buffer.compare(Buffer.from(bpf.output), Buffer.from(want)) !== 0) {
    problems.push('bpf output differs from the expected output:', ...indent(describeOutputDifference(
      { label: 'bpf', bytes: bpf.output }, { label: 'expected', bytes: want }, VXLAN_PORTS)));
  }
  return problems;
}

export function runEncapCase(runner: DifferentialRunner, c: EncapCase, ctx: EncapContext): CaseReport {
  const hook = runner.target.hook;
  const expected = hook === 'tc' ? c.tc : c.xdp;
  if (!expected) throw new Error(`${c.description}: no expectation for ${runner.target.name}`);
  const config = c.config ?? ctx.config;
  const routes = c.routes ?? ctx.routes;
  const ingressIfindex = hook === 'xdp' ? ctx.ifindex?.[c.ingress ?? 'lo'] ?? 1 : undefined;
  const peers = c.peers ?? NO_PEERS;
  const options = {
    routes, config, peers, hook, ...(ingressIfindex !== undefined ? { ingressIfindex } : {}), ...(ctx.fib ? { fib: ctx.fib } : {}), ...(c.pmtu ? { pmtu: c.pmtu } : {}),
    ...(c.nexthops ? { nexthops: c.nexthops } : {}),
  };
  const problems: string[] = [];
  let outerId = 1;
  let bpf: BpfOutcome | undefined;
  if (acceptedByTestRun(c.frame, hook)) {
    runner.writer.writeConfig(config);
    runner.writer.writeRoutes(routes);
    runner.writer.writePeers(peers);
    runner.resetPmtu(c.pmtu);
    runner.resetNexthops(c.nexthops);
    bpf = runner.run(c.frame, ingressIfindex);
    if (typeof expected.output === 'function' && bpf.output.length >= OUTER_ID_OFFSET + 2) {
      outerId = readU16(bpf.output, OUTER_ID_OFFSET);
      if (outerId === 0) problems.push('bpf wrote outer IPv4 ID 0 for an inner packet without DF');
    }
  }
  const want = expectedOutput(expected, c.frame, outerId);
  const model = encap(c.frame, { ...options, ...(outerId !== 0 ? { ipId: outerId } : {}) });
  problems.push(...compareCodec(model, expected, want));
  if (bpf) problems.push(...compareBpf(hook, bpf, expected, want, c.frame.length));
  return { problems: withInput(problems, c.frame, config.vxlanPort), ranProgram: bpf !== undefined };
}

export function runDecapCase(runner: DifferentialRunner, c: DecapCase, ctx: { config: NodeConfig; peers: PeerMap; routes: RouteEntry[] }): CaseReport {
  const hook = runner.target.hook;
  const config = c.config ?? ctx.config;
  const peers = c.peers ?? ctx.peers;
  const routes = c.routes ?? ctx.routes;
  const expected = (hook === 'tc' ? c.tc : undefined) ?? c.expect;
  const want = expectedOutput(expected, c.frame, 0);
  const before = c.pmtuBefore ?? new Map<string, number>();
  const after = c.pmtuAfter ?? before;
  const model = decap(c.frame, { config, peers, routes, hook, pmtu: before });
  const problems = compareCodec(model, expected, want);
  const redirect = hook === 'tc' ? c.tc?.redirectIfindex : undefined;
  if (model.redirectIfindex !== redirect) problems.push(`codec redirects to ${model.redirectIfindex ?? 'nowhere'}, expected ${redirect ?? 'nowhere'}`);
  const codecAfter = new Map(before);
  if (model.pmtuWrite) codecAfter.set(model.pmtuWrite.peer, model.pmtuWrite.mtu);
  const show = (m: ReadonlyMap<string, number>) => JSON.stringify([...m].sort());
  if (show(codecAfter) !== show(after)) problems.push(`codec pmtu map after: ${show(codecAfter)}, expected ${show(after)}`);
  let ran = false;
  if (acceptedByTestRun(c.frame, hook)) {
    runner.writer.writeConfig(config);
    runner.writer.writePeers(peers);
    runner.writer.writeRoutes(routes);
    runner.resetPmtu(before);
    problems.push(...compareBpf(hook, runner.run(c.frame), expected, want, c.frame.length));
    const held = runner.readPmtu();
    if (show(held) !== show(after)) problems.push(`bpf pmtu map after: ${show(held)}, expected ${show(after)}`);
    ran = true;
  }
  return { problems: withInput(problems, c.frame, config.vxlanPort), ranProgram: ran };
}

function withInput(problems: string[], frame: Uint8Array, vxlanPort: number): string[] {
  if (!problems.length) return problems;
  return [...problems, 'input frame decoded:', ...decodeFrame(frame, [4789, vxlanPort]).map((l) => `  ${l}`), `input (hex): ${toHex(frame)}`];
}
