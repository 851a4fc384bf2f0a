// One case, both sides: the tables go into the program's maps, the frame through
// BPF_PROG_TEST_RUN, and the same frame and tables through the codec's model. The return code, the
// output bytes and the counters must agree: the program moves exactly one verdict counter, by 1
// packet and the frame length in bytes, and it is the codec's — plus exactly the side counters
// (MSS_CLAMPED, MSS_MALFORMED) the codec names in `also`, each by the same amounts.
import {
  STAT_NAMES, decap, encap, readU16, statIndex,
  type DatapathResult, type DecapOptions, type DecapResult, type StatName, type EncapOptions, type NexthopMap, type NodeConfig, type PeerMap, type PmtuMap, type RouteTable,
} from '../../../src/codec/index.js';
import type { ProgramUnderTest } from './datapath.js';
import { decodeFrame } from './decode.js';
import { describeOutputDifference, MismatchError, toHex } from './report.js';
import { StatsProbe, type CounterMove, type StatsSnapshot } from './stats.js';
import { TableWriter } from './tables.js';

export interface BpfOutcome {
  readonly retval: number;
  readonly output: Uint8Array;
  readonly moves: readonly CounterMove[];
}

export interface CaseOutcome {
  readonly model: DatapathResult;
  readonly bpf: BpfOutcome;
  /** What disagrees, one line each; empty when the program and the codec agree. */
  readonly problems: readonly string[];
  /** Map updates the case needed (0 when the tables were already in place). */
  readonly tableChanges: number;
}

const OUTER_ID_OFFSET = 14 + 4;

/**
 * How counters are checked. 'every-case': a full reading of `stats` before and after each run
 * (the moves are exact and complete). 'ledger' (the fuzz campaign): only the counter the codec
 * names is read after each run and must have moved by exactly 1 packet and the frame length
 * from the ledger, which then takes the new value; checkpoint() compares a full reading with the
 * ledger, so a counter that moved when it should not have shows there (counters only grow).
 */
export type CounterCheck = 'every-case' | 'ledger';

export class DifferentialRunner {
  readonly writer: TableWriter;
  private last: StatsSnapshot | undefined;
  private counterCheck: CounterCheck = 'every-case';
  private ledger: StatsSnapshot | undefined;
  /** The program's `pmtu` map may hold entries (decap writes it). */
  private pmtuDirty = true;
  /** What the `nexthops` map holds (only this runner writes it); undefined: not known yet. */
  private nexthopsHeld: string | undefined;

  constructor(readonly target: ProgramUnderTest) {
    this.writer = new TableWriter(target);
  }

  setCounterCheck(mode: CounterCheck): void {
    this.counterCheck = mode;
    this.last = undefined;
    this.ledger = mode === 'ledger' ? this.target.stats.snapshot() : undefined;
  }

  /**
   * Ledger mode: the counters whose full reading differs from the ledger (empty when every case
   * since the last checkpoint moved only its own counter); the ledger restarts from the reading.
   */
  checkpoint(): CounterMove[] {
    const now = this.target.stats.snapshot();
    const differ = this.ledger ? StatsProbe.moves(this.ledger, now) : [];
    if (this.ledger) this.ledger = now;
    return differ;
  }

  /** Runs the frame and returns what the program did, counters included (always a full reading). */
  run(frame: Uint8Array, ingressIfindex?: number): BpfOutcome {
    const before = this.last ?? this.target.stats.snapshot();
    this.last = undefined; // a failing run must not leave a stale reading behind
    const raw = this.target.runRaw(frame, ingressIfindex !== undefined ? { ingressIfindex } : {});
    const after = this.target.stats.snapshot();
    this.last = after;
    return { retval: raw.retval, output: raw.output, moves: StatsProbe.moves(before, after) };
  }

  /**
   * The `pmtu` map before a case: exactly `pmtu` (learned_ns 0). The programs write it themselves
   * (decap step P6), so it is reset whenever it may differ: after a case that could have written
   * it, or when the case brings entries of its own.
   */
  resetPmtu(pmtu: PmtuMap | undefined): void {
    const want = pmtu ?? new Map<string, number>();
    if (!this.pmtuDirty && want.size === 0) return;
    const held = this.target.pmtu.entriesBatch().map(([k]) => k);
    if (held.length) this.target.pmtu.deleteBatch(held);
    for (const [peer, mtu] of want) this.target.pmtu.set(peer, { learned_ns: 0n, mtu });
    this.pmtuDirty = want.size > 0;
  }

  /** The `nexthops` map before an encap case: exactly `nexthops` (the programs only read it). */
  resetNexthops(nexthops: NexthopMap | undefined): void {
    const want = [...(nexthops ?? new Map())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify(want);
    if (key === this.nexthopsHeld) return;
    this.nexthopsHeld = undefined; // a failing write leaves it unknown
    const held = this.target.nexthops.entriesBatch().map(([k]) => k);
    if (held.length) this.target.nexthops.deleteBatch(held);
    for (const [peer, nh] of want) this.target.nexthops.set(peer, { ifindex: nh.ifindex, dmac: nh.dmac, smac: nh.smac, mtu: nh.mtu });
    this.nexthopsHeld = key;
  }

  /** The program's `pmtu` map now: peer → MTU (the map may now differ from what resetPmtu wrote). */
  readPmtu(): Map<string, number> {
    const held = this.target.pmtu.entriesBatch();
    if (held.length > 0) this.pmtuDirty = true;
    return new Map(held.map(([k, v]) => [k, v.mtu]));
  }

  /** After a decap run: the `pmtu` map holds what the codec says (P6's write, learned_ns from the run). */
  private comparePmtu(options: DecapOptions, model: DecapResult, t0: bigint, t1: bigint): string[] {
    const held = new Map(this.target.pmtu.entriesBatch());
    if (held.size > 0) this.pmtuDirty = true;
    const want = new Map([...(options.pmtu ?? new Map<string, number>())].map(([k, v]) => [k, { mtu: v, fresh: false }]));
    if (model.pmtuWrite) want.set(model.pmtuWrite.peer, { mtu: model.pmtuWrite.mtu, fresh: true });
    const problems: string[] = [];
    const show = (m: Map<string, { mtu: number }>) => JSON.stringify([...m].map(([k, v]) => [k, v.mtu]));
    const same = held.size === want.size && [...want].every(([k, w]) => {
      const h = held.get(k);
      if (!h || h.mtu !== w.mtu) return false;
      return w.fresh ? h.learned_ns >= t0 && h.learned_ns <= t1 : h.learned_ns === 0n;
    });
    if (!same) {
      problems.push(`pmtu map: bpf holds ${JSON.stringify([...held].map(([k, v]) => [k, v.mtu, String(v.learned_ns)]))}, codec expects ${show(want)}` +
        `${model.pmtuWrite ? ` (${model.pmtuWrite.peer} learned during the run: learned_ns in [${t0}, ${t1}])` : ''}`);
    }
    return problems;
  }

  checkEncap(frame: Uint8Array, options: EncapOptions): CaseOutcome {
    // Both hooks read `pmtu`: xdp_encap step 7b, and the MSS clamp's step 3b.
    this.resetPmtu(options.pmtu);
    this.resetNexthops(options.nexthops);
    const tableChanges = this.writer.writeConfig(options.config).changes + this.writer.writeRoutes(options.routes).changes +
      this.writer.writePeers(options.peers ?? NO_PEERS).changes;
    const counted = this.runCounted(frame, this.target.hook === 'xdp' ? options.ingressIfindex ?? 1 : undefined);
    let model = encap(frame, { ...options, hook: this.target.hook });
    const problems: string[] = [];
    if (model.outerIdRandom && counted.output.length >= OUTER_ID_OFFSET + 2) {
      // The program's random outer ID (inner DF clear): never 0; the codec takes it as a parameter.
      const id = readU16(counted.output, OUTER_ID_OFFSET);
      if (id === 0) problems.push('outer IPv4 ID is 0 although the inner DF bit is clear (the program must write 1–65535)');
      else model = encap(frame, { ...options, hook: this.target.hook, ipId: id });
    }
    const bpf = counted.finish(model);
    problems.push(...compare(model, bpf, frame.length));
    return { model, bpf, problems, tableChanges };
  }

  checkDecap(frame: Uint8Array, options: DecapOptions): CaseOutcome {
    const tableChanges = this.writer.writeConfig(options.config).changes + this.writer.writePeers(options.peers).changes +
      this.writer.writeRoutes(options.routes).changes;
    this.resetPmtu(options.pmtu);
    const t0 = process.hrtime.bigint();
    const counted = this.runCounted(frame);
    const t1 = process.hrtime.bigint();
    const model = decap(frame, { ...options, hook: this.target.hook });
    const bpf = counted.finish(model);
    return { model, bpf, problems: [...compare(model, bpf, frame.length), ...this.comparePmtu(options, model, t0, t1)], tableChanges };
  }

  /** A run whose counter moves are known once the codec has said which counter it expects. */
  private runCounted(frame: Uint8Array, ingressIfindex?: number): { output: Uint8Array; finish(model: DatapathResult): BpfOutcome } {
    if (this.counterCheck === 'every-case') {
      const bpf = this.run(frame, ingressIfindex);
      return { output: bpf.output, finish: () => bpf };
    }
    const raw = this.target.runRaw(frame, ingressIfindex !== undefined ? { ingressIfindex } : {});
    return {
      output: raw.output,
      finish: (model) => {
        const ledger = this.ledger as StatsSnapshot;
        const moves: CounterMove[] = [];
        for (const counter of expectedCounters(model)) {
          const i = statIndex(counter);
          const [packets, bytes] = this.target.stats.read(i);
          const move = { counter, packets: packets - (ledger[i * 2] ?? 0), bytes: bytes - (ledger[i * 2 + 1] ?? 0) };
          ledger[i * 2] = packets;
          ledger[i * 2 + 1] = bytes;
          if (move.packets || move.bytes) moves.push(move);
        }
        return { retval: raw.retval, output: raw.output, moves };
      },
    };
  }
}

/** The verdict counter and the side counters of a model result, in counter (enum) order. */
export function expectedCounters(model: DatapathResult): StatName[] {
  return [model.counter, ...(model.also ?? [])].sort((a, b) => STAT_NAMES.indexOf(a) - STAT_NAMES.indexOf(b));
}

const NO_PEERS: PeerMap = new Map();

function compare(model: DatapathResult, bpf: BpfOutcome, length: number): string[] {
  const problems: string[] = [];
  if (bpf.retval !== model.retval) problems.push(`return code: bpf ${bpf.retval}, codec ${model.retval} (${model.verdict})`);
  const expected = expectedCounters(model);
  const want = expected.map((c) => `${c} +1 packet +${length} bytes`).join(', ');
  const got = bpf.moves.map((m) => `${m.counter} +${m.packets} packet(s) +${m.bytes} bytes`).join(', ') || 'none';
  const exact = bpf.moves.length === expected.length &&
    bpf.moves.every((m, i) => m.counter === expected[i] && m.packets === 1 && m.bytes === length);
  if (!exact) problems.push(`counters: bpf moved ${got}; codec expects exactly ${want}`);
  if (Buffer.compare(Buffer.from(bpf.output), Buffer.from(model.output)) !== 0) problems.push('output bytes differ');
  return problems;
}

export interface CaseInputs {
  readonly program: string;
  readonly frame: Uint8Array;
  readonly config: NodeConfig;
  readonly routes?: RouteTable;
  readonly peers?: PeerMap;
  readonly ingressIfindex?: number;
  /** Anything else worth printing (the scenario kind, the FIB answer, ...). */
  readonly notes?: readonly string[];
}

/** The full report of a disagreement. */
export function describeMismatch(inputs: CaseInputs, outcome: CaseOutcome): string {
  const { model, bpf } = outcome;
  const vxlanPorts = [...new Set([4789, inputs.config.vxlanPort])];
  const lines = [
    `${inputs.program} and the codec disagree:`,
    ...outcome.problems.map((p) => `  - ${p}`),
    `bpf:   return ${bpf.retval}, counters ${bpf.moves.map((m) => `${m.counter}+${m.packets}/${m.bytes}B`).join(' ') || 'none'}`,
    `codec: return ${model.retval} (${model.verdict}), counter ${expectedCounters(model).join(' ')}`,
    ...describeOutputDifference({ label: 'bpf', bytes: bpf.output }, { label: 'codec', bytes: model.output }, vxlanPorts),
    'input frame decoded:',
    ...decodeFrame(inputs.frame, vxlanPorts).map((l) => `  ${l}`),
    `input frame (hex): ${toHex(inputs.frame)}`,
    `config: ${JSON.stringify(inputs.config)}`,
  ];
  if (inputs.routes) lines.push(`routes: ${JSON.stringify(inputs.routes)}`);
  if (inputs.peers) lines.push(`peers: ${JSON.stringify([...inputs.peers].map(([a, p]) => [a, { ...p, modes: typeof p.modes === 'number' ? p.modes : [...p.modes] }]))}`);
  if (inputs.ingressIfindex !== undefined) lines.push(`ingress ifindex: ${inputs.ingressIfindex}`);
  lines.push(...(inputs.notes ?? []));
  return lines.join('\n');
}

export function assertAgreement(inputs: CaseInputs, outcome: CaseOutcome): void {
  if (outcome.problems.length) throw new MismatchError(describeMismatch(inputs, outcome));
}

/** Counter name → how many cases moved it, for coverage checks and the fuzz report. */
export class CounterTally {
  readonly counts = new Map<string, number>();
  total = 0;

  add(counter: string): void {
    this.counts.set(counter, (this.counts.get(counter) ?? 0) + 1);
    this.total++;
  }

  /** A side counter (MSS_*): counted, but not a case of its own (shares stay per case). */
  addSide(counter: string): void {
    this.counts.set(counter, (this.counts.get(counter) ?? 0) + 1);
  }

  /** In enum order, zeros left out. */
  entries(): [string, number][] {
    return STAT_NAMES.filter((n) => this.counts.has(n)).map((n) => [n, this.counts.get(n) ?? 0]);
  }
}

