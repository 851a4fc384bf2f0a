// The `stats` per-CPU array read around each test run: one BPF_MAP_LOOKUP_BATCH for all counters,
// summed over CPUs, and the difference between two readings as the list of counters that moved.
import { possibleCpus, type BpfMap } from '../../../src/bpf/index.js';
import { STAT_COUNT, STAT_NAMES, type StatName } from '../../../src/codec/index.js';

/** packets and bytes of every counter, summed over CPUs: [p0, b0, p1, b1, ...]. */
export type StatsSnapshot = Float64Array;

export interface CounterMove {
  readonly counter: StatName | `#${number}`;
  readonly packets: number;
  readonly bytes: number;
}

export class StatsProbe {
  private readonly stride: number;
  private readonly cpus = possibleCpus();

  constructor(private readonly map: BpfMap<Buffer, Buffer>) {
    if (map.info.maxEntries !== STAT_COUNT) {
      throw new Error(`the stats map has ${map.info.maxEntries} entries, the codec knows ${STAT_COUNT} counters`);
    }
    this.stride = Math.ceil(map.info.valueSize / 8) * 8;
  }

  snapshot(): StatsSnapshot {
    const out = new Float64Array(STAT_COUNT * 2);
    for (const [key, value] of this.map.entriesBatch({ batchSize: STAT_COUNT })) {
      const index = key.readUInt32LE(0);
      let packets = 0;
      let bytes = 0;
      for (let cpu = 0; cpu < this.cpus; cpu++) {
        const at = cpu * this.stride;
        packets += Number(value.readBigUInt64LE(at));
        bytes += Number(value.readBigUInt64LE(at + 8));
      }
      out[index * 2] = packets;
      out[index * 2 + 1] = bytes;
    }
    return out;
  }

  /** One counter, summed over CPUs: [packets, bytes]. */
  read(index: number): [number, number] {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(index, 0);
    const value = this.map.get(key);
    if (!value) throw new Error(`stats has no slot ${index}`);
    let packets = 0;
    let bytes = 0;
    for (let cpu = 0; cpu < this.cpus; cpu++) {
      packets += Number(value.readBigUInt64LE(cpu * this.stride));
      bytes += Number(value.readBigUInt64LE(cpu * this.stride + 8));
    }
    return [packets, bytes];
  }

  /** The counters that differ between two snapshots, in counter order. */
  static moves(before: StatsSnapshot, after: StatsSnapshot): CounterMove[] {
    const moved: CounterMove[] = [];
    for (let i = 0; i < STAT_COUNT; i++) {
      const packets = (after[i * 2] ?? 0) - (before[i * 2] ?? 0);
      const bytes = (after[i * 2 + 1] ?? 0) - (before[i * 2 + 1] ?? 0);
      if (packets !== 0 || bytes !== 0) moved.push({ counter: STAT_NAMES[i] ?? `#${i}`, packets, bytes });
    }
    return moved;
  }
}
