// What the fuzz campaign and the batch properties of the test files share: one generated table
// (config and routes, or config and peers) with many frames against it, per program, and how one
// frame of a batch is checked and reported.
import fc from 'fast-check';

import { arbDecapScenario, arbEncapScenario } from '../../arbitraries/index.js';
import type { NexthopMap, NodeConfig, PeerMap, PmtuMap, RouteEntry } from '../../../src/codec/index.js';
import { arbDecapBatch } from './batch-decap.js';
import { arbEncapBatch, type BatchFrame } from './batch-encap.js';
import { directionOf, hookOf, type ProgramName } from './datapath.js';
import { describeMismatch, type CaseOutcome, type DifferentialRunner } from './differential.js';
import type { FibLab } from './fib-lab.js';
import { MismatchError } from './report.js';

export type { BatchFrame };

/** One table and the frames run against it. */
export interface Batch {
  readonly config: NodeConfig;
  readonly routes?: RouteEntry[];
  readonly peers?: PeerMap;
  readonly frames: readonly BatchFrame[];
  /** xdp_encap: the `pmtu` map. */
  readonly pmtu?: PmtuMap;
  /** Both encap programs: the `nexthops` map. */
  readonly nexthops?: NexthopMap;
}

export interface BatchOptions {
  /** Frames per table (up to). */
  readonly size: number;
  /** Fresh tables for every case, from the codec's scenario arbitraries (batches of one). */
  readonly perCase?: boolean;
  /** xdp_encap and tc_encap: the FIB lab (its model; for xdp_encap, the ingress devices frames arrive on). */
  readonly lab?: FibLab;
}

export function arbProgramBatch(name: ProgramName, opts: BatchOptions): fc.Arbitrary<Batch> {
  const hook = hookOf(name);
  const { lab } = opts;
  if (directionOf(name) === 'encap') {
    // Only XDP test runs name an ingress device; tc_encap's FIB lookups (UPLINK_FIB) start from lo.
    const xdpLab = hook === 'xdp' ? lab : undefined;
    if (!opts.perCase) return arbEncapBatch({ hook, size: opts.size, ...(xdpLab ? { ingressIfindexes: xdpLab.ingressIfindexes } : {}) });
    const ingress = xdpLab ? fc.constantFrom(...xdpLab.ingressIfindexes) : fc.constant(undefined);
    return fc.tuple(arbEncapScenario({ hook, testRunnable: true, ...(lab ? { fib: lab.fib } : {}) }), ingress)
      .map(([s, ingressIfindex]) => ({
        config: s.config, routes: s.routes, peers: s.peers, ...(s.options.pmtu ? { pmtu: s.options.pmtu } : {}),
        ...(s.options.nexthops ? { nexthops: s.options.nexthops } : {}),
        frames: [{ kind: s.kind, frame: s.frame, ...(ingressIfindex !== undefined ? { ingressIfindex } : {}) }],
      }));
  }
  if (!opts.perCase) return arbDecapBatch({ hook, size: opts.size });
  return arbDecapScenario({ hook, testRunnable: true }).map((s) => ({ config: s.config, peers: s.peers, routes: s.routes, frames: [{ kind: s.kind, frame: s.frame }] }));
}

export function checkBatchFrame(runner: DifferentialRunner, batch: Batch, f: BatchFrame, lab?: FibLab): CaseOutcome {
  const hook = runner.target.hook;
  if (directionOf(runner.target.name) === 'encap') {
    return runner.checkEncap(f.frame, {
      routes: batch.routes ?? [], config: batch.config, hook, ...(batch.peers ? { peers: batch.peers } : {}),
      ...(f.ingressIfindex !== undefined ? { ingressIfindex: f.ingressIfindex } : {}),
      ...(lab ? { fib: lab.fib } : {}),
      ...(batch.pmtu ? { pmtu: batch.pmtu } : {}),
      ...(batch.nexthops ? { nexthops: batch.nexthops } : {}),
    });
  }
  return runner.checkDecap(f.frame, { config: batch.config, peers: batch.peers ?? new Map(), routes: batch.routes ?? [], hook });
}

export function batchMismatch(runner: DifferentialRunner, batch: Batch, f: BatchFrame, outcome: CaseOutcome, lab?: FibLab): MismatchError {
  return new MismatchError(describeMismatch({
    program: runner.target.name, frame: f.frame, config: batch.config, ...(batch.routes ? { routes: batch.routes } : {}),
    ...(batch.peers ? { peers: batch.peers } : {}), ...(f.ingressIfindex !== undefined ? { ingressIfindex: f.ingressIfindex } : {}),
    notes: [`scenario kind: ${f.kind}`, ...(lab ? [`lab ifindexes: ua ${lab.ifindex.ua}, ub ${lab.ifindex.ub}`] : [])],
  }, outcome));
}

/** A property for the test files: every frame of every batch agrees (full counter readings). */
export function batchProperty(runner: DifferentialRunner, opts: BatchOptions): fc.IPropertyWithHooks<[Batch]> {
  return fc.property(arbProgramBatch(runner.target.name, opts), (batch) => {
    for (const f of batch.frames) {
      const outcome = checkBatchFrame(runner, batch, f, opts.lab);
      if (outcome.problems.length) throw batchMismatch(runner, batch, f, outcome, opts.lab);
    }
  });
}
