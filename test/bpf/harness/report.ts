// How a disagreement between a program and the codec is shown: what differs (return code,
// counters, output bytes), a hex dump of both outputs around the first differing offset, both
// outputs decoded, and the inputs (frame and tables) that produced them.
import { decodeFrame } from './decode.js';

/** The first offset where a and b differ (the shorter length when one is a prefix), or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** 16 bytes a line, offsets in hex, bytes that differ from `other` in [brackets]. */
export function hexDump(bytes: Uint8Array, other: Uint8Array, from: number, to: number): string[] {
  const lines: string[] = [];
  const start = Math.max(0, from - (from % 16));
  for (let line = start; line < Math.min(to, bytes.length); line += 16) {
    const cells: string[] = [];
    for (let i = line; i < Math.min(line + 16, bytes.length); i++) {
      const h = (bytes[i] ?? 0).toString(16).padStart(2, '0');
      cells.push(bytes[i] === other[i] ? ` ${h} ` : `[${h}]`);
    }
    lines.push(`  ${line.toString(16).padStart(4, '0')}  ${cells.join('')}`);
  }
  return lines;
}

/** One side of a comparison: a name for the report ("bpf", "codec", "expected") and its bytes. */
export interface LabelledOutput {
  readonly label: string;
  readonly bytes: Uint8Array;
}

/**
 * The output section of a report (empty when the outputs are equal): where they first differ,
 * hex around that offset, both decoded. `vxlanPorts`: UDP ports to decode as VXLAN.
 */
export function describeOutputDifference(a: LabelledOutput, b: LabelledOutput, vxlanPorts: readonly number[]): string[] {
  const at = firstDifference(a.bytes, b.bytes);
  if (at < 0) return [];
  const from = Math.max(0, at - 32);
  const to = at + 48;
  return [
    `output bytes differ: first at offset ${at} (0x${at.toString(16)}); ${a.label} ${a.bytes.length} bytes, ${b.label} ${b.bytes.length} bytes`,
    `${a.label} output:`,
    ...hexDump(a.bytes, b.bytes, from, to),
    `${b.label} output:`,
    ...hexDump(b.bytes, a.bytes, from, to),
    `${a.label} output decoded:`,
    ...decodeFrame(a.bytes, vxlanPorts).map((l) => `  ${l}`),
    `${b.label} output decoded:`,
    ...decodeFrame(b.bytes, vxlanPorts).map((l) => `  ${l}`),
  ];
}

/** The error a differential property throws: fast-check adds the seed and the shrunk input. */
export class MismatchError extends Error {
  override readonly name = 'MismatchError';
}
