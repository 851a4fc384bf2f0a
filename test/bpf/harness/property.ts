// Settings shared by the differential properties of test/bpf: how many cases, which seed. A
// failing property prints its seed (fast-check does); BURROW_SEED=<seed> replays it.
import type { CounterTally } from './differential.js';

/** Generated cases per program in the normal test run (BURROW_BPF_CASES overrides). */
export function propertyRuns(): number {
  const n = Number(process.env.BURROW_BPF_CASES ?? 2500);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`BURROW_BPF_CASES must be a positive integer, got ${process.env.BURROW_BPF_CASES}`);
  return n;
}

/**
 * Whether a property ran enough cases to insist that every counter (verdict, FIB branch) it can
 * reach was reached: the rarest come up dozens of times in 2500 cases, not reliably in 50.
 */
export function coverageExpected(): boolean {
  return propertyRuns() >= 1000;
}

/** Tables per program in the batch properties (each with up to BATCH_SIZE frames). */
export const BATCH_RUNS = 40;
export const BATCH_SIZE = 64;

/** BURROW_SEED when set, else a fresh one. */
export function propertySeed(): number {
  const fixed = process.env.BURROW_SEED;
  if (fixed !== undefined && fixed !== '') {
    const seed = Number(fixed);
    if (!Number.isInteger(seed)) throw new RangeError(`BURROW_SEED must be an integer, got ${fixed}`);
    return seed;
  }
  return (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
}

export function describeTally(tally: CounterTally): string {
  return tally.entries().map(([name, n]) => `${name} ${n}`).join(', ');
}

/** Throws when two rows of a table share a description (they name the ava tests). */
export function uniqueDescriptions<T extends { description: string }>(rows: readonly T[]): readonly T[] {
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.description)) throw new Error(`two table rows are called "${r.description}"`);
    seen.add(r.description);
  }
  return rows;
}
