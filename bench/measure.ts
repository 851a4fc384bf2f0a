/**
 * Summaries of repeated measurements on a noisy machine: every figure is measured in several
 * rounds, variants side by side within a round (interleaved), and reported as the median with
 * the min–max range over rounds. Ratios are taken within each round (paired) and then summarised
 * the same way, so a slow round slows both sides instead of skewing the ratio.
 */
import { spawn } from 'node:child_process';

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median: how far apart the rounds were. */
  spread: number;
  n: number;
  samples: number[];
}

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const finite = samples.filter((x) => Number.isFinite(x));
  const med = median(finite);
  const min = finite.length ? Math.min(...finite) : NaN;
  const max = finite.length ? Math.max(...finite) : NaN;
  return { median: med, min, max, spread: med ? (max - min) / med : NaN, n: finite.length, samples: [...samples] };
}

/** Per-round ratios a[i] / b[i], summarised. */
export function pairedRatio(a: readonly number[], b: readonly number[]): Summary {
  return summarize(a.map((x, i) => x / (b[i] ?? NaN)));
}

export function hrtimeMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** "12.3 (11.9–13.0)" with `digits` decimals. */
export function fmt(s: Summary | undefined, digits = 1): string {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  const f = (x: number) => x.toFixed(digits);
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}

/** "1.23×" from a ratio summary. */
export function fmtRatio(s: Summary | undefined, digits = 2): string {
  if (!s || !Number.isFinite(s.median)) return 'n/a';
  const f = (x: number) => x.toFixed(digits);
  return s.n > 1 ? `${f(s.median)}× (${f(s.min)}–${f(s.max)})` : `${f(s.median)}×`;
}

/**
 * Runs `argv` and resolves with its last stdout line parsed as JSON (a benchmark child's one
 * result line); rejects with `what`, the exit code and the end of stderr when it fails.
 */
export function runJsonChild<T>(argv: readonly string[], what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${what} exited ${code}: ${err.trim().slice(-2000)}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}
