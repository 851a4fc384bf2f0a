/**
 * Giving memory back after a burst (docs/control-plane.md, "Memory"). The cold read of a datastore
 * and a large batch of watch events leave V8's young generation grown to its maximum (32 MiB of
 * semi-spaces on 64-bit Node 20), old-space pages half empty and glibc's arenas holding what the
 * parse freed: about 75 MiB of RSS that no live object uses at 100k blocks. `releaseMemory()`
 * (native/memory.cc) runs V8's low-memory collection, which compacts and shrinks the young
 * generation back, then `malloc_trim(0)`.
 *
 * The collection stops the event loop for a few full GCs (it repeats them until one frees nothing:
 * 0.3-0.5 s at 100k blocks on a busy 2-core machine), so the keeper runs it only when enough
 * changed since the last one, when the agent is idle (`idleMs` after the last cycle, no cycle
 * running), and not more often than `minIntervalMs`; never on the start path ('agentd ready' first).
 */
import v8 from 'node:v8';
import vm from 'node:vm';

import { addon } from '../bpf/native.js';

/**
 * From now on V8 favours memory over speed: the young generation keeps the size a release leaves
 * it at (1 MiB semi-spaces) instead of doubling up to 16 MiB under a stream of events (more,
 * shorter scavenges), and the old generation grows by V8's conservative factor between full GCs
 * (--optimize-for-size). Set after the cold read, which is faster with room to grow; V8 reads both
 * flags when it sizes its spaces, so setting them at run time takes effect at the next GC.
 */
export function favourMemory(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--optimize-for-size');
}

/** V8's low-memory collection and malloc_trim. */
export function releaseMemory(): void {
  addon().releaseMemory();
}

/**
 * A full garbage collection, once, after the initial read: a 16 MB manifest leaves ~100 MB of
 * parse garbage that V8 would otherwise keep growing the heap around while the first flush builds
 * the kernel state (agentd's peak RSS at 100k routes). `--expose-gc` set at run time; no-op if refused.
 */
export function collectGarbage(): void {
  try {
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
  } catch {
    // not available: the peak is only higher
  }
}

export interface MemoryKeeperOptions {
  /** What a release does (default: releaseMemory). */
  release?: () => void;
  /** Events applied since the last release before another is worth it. */
  minEvents: number;
  /** How long the agent must have been idle (no cycle) first. */
  idleMs: number;
  /** The shortest time between two releases. */
  minIntervalMs: number;
  /** Called after each release with how long it took and the RSS after. */
  released?: (ms: number, rssMiB: number) => void;
  /** Whether a cycle is running or queued (then the release waits). */
  busy: () => boolean;
}

export class MemoryKeeper {
  private events = 0;
  private last = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  releases = 0;

  constructor(private readonly opts: MemoryKeeperOptions) {}

  /** Events were applied to the engine (they allocate: records, index entries, garbage). */
  noteEvents(count: number): void {
    this.events += count;
  }

  /** Releases now (after the first cycle: the cold read's garbage). */
  releaseNow(): void {
    this.clear();
    this.events = 0;
    this.last = performance.now();
    const t0 = performance.now();
    (this.opts.release ?? releaseMemory)();
    const ms = performance.now() - t0;
    this.releases++;
    this.opts.released?.(ms, process.memoryUsage().rss / 2 ** 20);
  }

  /** A cycle ended: a release is scheduled when enough changed (and runs once things are quiet). */
  afterCycle(): void {
    if (this.events < this.opts.minEvents) return;
    this.clear();
    const wait = Math.max(this.opts.idleMs, this.last + this.opts.minIntervalMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.opts.busy()) return; // the next cycle's end schedules it again
      this.releaseNow();
    }, wait);
    this.timer.unref();
  }

  close(): void {
    this.clear();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
