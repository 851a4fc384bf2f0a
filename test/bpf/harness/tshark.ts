// tshark as an independent decoder: dissect a pcap file and return, per frame, the values of the
// requested fields in order of appearance (outer header first), e.g. ip.src → [outer, inner].
import { execFileSync } from 'node:child_process';

export interface TsharkOptions {
  /** UDP ports to dissect as VXLAN besides 4789 (tshark's `-d udp.port==PORT,vxlan`). */
  readonly vxlanPorts?: readonly number[];
}

export type DissectedFrame = Readonly<Record<string, string[]>>;

/** One entry per frame of the file; fields tshark found no value for are []. */
export function dissect(pcapPath: string, fields: readonly string[], opts: TsharkOptions = {}): DissectedFrame[] {
  const decodeAs = [...new Set(opts.vxlanPorts ?? [])].filter((p) => p !== 4789).flatMap((p) => ['-d', `udp.port==${p},vxlan`]);
  const out = execFileSync('tshark', [
    '-r', pcapPath, '-n', '-o', 'ip.check_checksum:TRUE', ...decodeAs,
    '-T', 'fields', '-E', 'header=n', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,',
    ...fields.flatMap((f) => ['-e', f]),
  ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  return out.split('\n').filter((line) => line !== '').map((line) => {
    const values = line.split('\t');
    return Object.fromEntries(fields.map((f, i) => [f, values[i] ? (values[i] as string).split(',') : []]));
  });
}

/** ip.checksum.status with ip.check_checksum on: 1 is "Good" (0 bad, 2 unverified). */
export const CHECKSUM_GOOD = '1';
export const CHECKSUM_BAD = '0';
