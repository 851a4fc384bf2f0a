/**
 * agentd's Prometheus metrics and its small HTTP server (`--listen`), docs/operations.md
 * ("Metrics", "Probes"): /metrics (prom-client text format), /livez, /readyz, /startupz (the
 * probes, JSON bodies saying why) and /healthz (the older summary: 200 only when the last
 * reconcile succeeded and the links are attached; `agentctl status --agent` reads it). The
 * datapath counters are read from the `stats` map at scrape time, plus the nft tunnel guard's
 * `drop_workload_tunnel` counter (nat.ts); map fill is counted at most every MAP_COUNT_TTL_MS.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import { burrowStatNames, sumStats, type BpfMap, type BurrowStatValue } from '../bpf/index.js';
import { GUARD_COUNTER, readGuardCounter } from './nat.js';
import { DEFAULT_NAT_TABLE } from './reconcile.js';

/** The nft guard's counter, or undefined when there is none (nothing reconciled in this namespace). */
export type GuardCounterReader = () => Promise<{ packets: number; bytes: number } | undefined>;

export type ReconcileOutcome = 'ok' | 'invalid' | 'error';

/** One map's fill: entries now against its max_entries. */
export interface MapFill {
  map: string;
  entries: number;
  maxEntries: number;
}

/** What the metrics read from agentd at scrape time (each optional: undefined, no series). */
export interface MetricsSources {
  stats: () => BpfMap<number, BurrowStatValue[]> | undefined;
  guard?: GuardCounterReader;
  /** The maps' fill; called at most every MAP_COUNT_TTL_MS (routes are counted in batches). */
  maps?: () => MapFill[] | undefined;
  datastore?: () => { kind: string; connected: boolean; staleSince?: Date | undefined };
  /** Whether the input validates now (invalid: the last good state stays) and how many errors. */
  config?: () => { valid: boolean; errors: number };
  ready?: () => boolean;
}

export interface AgentMetrics {
  readonly registry: Registry;
  observeReconcile(outcome: ReconcileOutcome, changes: number, seconds: number): void;
  /** Entries a resync found different from what was written (repaired by the next flush). */
  observeDrift(part: 'routes' | 'peers' | 'config' | 'kernelRoutes' | 'nat', count: number): void;
  /** A resync's comparison (maps; kernel routes and nft when `kernel`) and how long it took. */
  observeResync(kernel: boolean, seconds: number): void;
  /** Source events applied to the engine, and how long applying the batch took. */
  observeEvents(count: number, seconds?: number): void;
  /** Datastore objects skipped because they fail their own rules. */
  observeSkipped(count: number): void;
}

/** Map fill is counted at most this often (a 100k-route map is a few batched reads). */
export const MAP_COUNT_TTL_MS = 10_000;

/** `read`, called at most every `ms`: the metrics of one scrape that show the same reading share it. */
function readAtMostEvery<T>(ms: number, read: () => T): () => T {
  let last: { at: number; value: T } | undefined;
  return () => {
    if (!last || Date.now() - last.at > ms) last = { at: Date.now(), value: read() };
    return last.value;
  };
}

/** prom-client's default gauges whose names end in _total, which Prometheus reserves for counters (promtool refuses them); their per-type series stay. */
const NON_COUNTER_TOTALS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** package.json's version (dist/src/agent → the repository root, or /opt/burrow in the image). */
function packageVersion(): string {
  try {
    const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json');
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function createMetrics(
  sourcesOrStats: MetricsSources | (() => BpfMap<number, BurrowStatValue[]> | undefined),
  guardReader?: GuardCounterReader,
): AgentMetrics {
  const sources: MetricsSources = typeof sourcesOrStats === 'function' ? { stats: sourcesOrStats } : sourcesOrStats;
  const stats = sources.stats;
  const guard = guardReader ?? sources.guard ?? (() => readGuardCounter(DEFAULT_NAT_TABLE));
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of NON_COUNTER_TOTALS) registry.removeSingleMetric(name);
  const reconciles = new Counter({
    name: 'burrow_reconciles_total',
    help: 'Reconcile runs by outcome (invalid: the manifests did not validate; the last good state stays)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const changes = new Counter({ name: 'burrow_reconcile_changes_total', help: 'Changes applied by reconciles', registers: [registry] });
  const duration = new Histogram({
    name: 'burrow_reconcile_duration_seconds',
    help: 'Time a reconcile took',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const lastOk = new Gauge({ name: 'burrow_last_reconcile_success_timestamp_seconds', help: 'When a reconcile last succeeded', registers: [registry] });
  // One read of the stats map (and the nft guard counter) per scrape for the four metrics that show it.
  type StatRow = { name: string; packets: number; bytes: number };
  const statsNow = readAtMostEvery(500, async (): Promise<StatRow[] | undefined> => {
    const map = stats();
    if (!map) return undefined;
    const rows: StatRow[] = [];
    for (let i = 0; i < burrowStatNames.length; i++) {
      const values = map.get(i);
      if (!values) continue;
      const sum = sumStats(values);
      rows.push({ name: burrowStatNames[i]!, packets: Number(sum.packets), bytes: Number(sum.bytes) });
    }
    const nft = await guard().catch(() => undefined);
    if (nft) rows.push({ name: GUARD_COUNTER, packets: nft.packets, bytes: nft.bytes });
    return rows;
  });
  const byCounter = (field: 'packets' | 'bytes') =>
    async function collect(this: Counter<'counter'>) {
      const rows = await statsNow();
      if (!rows) return;
      this.reset();
      for (const r of rows) this.inc({ counter: r.name }, r[field]);
    };
  // Drops by reason (Cilium's drop_count_total{reason} shape): the drop_* counters without the prefix.
  const byReason = (field: 'packets' | 'bytes') =>
    async function collect(this: Counter<'reason'>) {
      const rows = await statsNow();
      if (!rows) return;
      this.reset();
      for (const r of rows) if (r.name.startsWith('drop_')) this.inc({ reason: r.name.slice('drop_'.length) }, r[field]);
    };
  const counterHelp = 'Datapath counters (enum burrow_stat: encap_*, decap_*, pass*, drop_*; the stats map summed over CPUs; drop_workload_tunnel: the nft tunnel guard)';
  new Counter({ name: 'burrow_datapath_packets_total', help: `${counterHelp}: packets`, labelNames: ['counter'] as const, registers: [registry], collect: byCounter('packets') });
  new Counter({ name: 'burrow_datapath_bytes_total', help: `${counterHelp}: bytes`, labelNames: ['counter'] as const, registers: [registry], collect: byCounter('bytes') });
  new Counter({ name: 'burrow_datapath_drops_total', help: 'Packets the datapath dropped, by reason (the drop_* counters of burrow_datapath_packets_total)', labelNames: ['reason'] as const, registers: [registry], collect: byReason('packets') });
  new Counter({ name: 'burrow_datapath_drop_bytes_total', help: 'Bytes the datapath dropped, by reason', labelNames: ['reason'] as const, registers: [registry], collect: byReason('bytes') });
  // Map fill, counted at most every MAP_COUNT_TTL_MS.
  const fillNow = readAtMostEvery(MAP_COUNT_TTL_MS, (): MapFill[] | undefined => {
    try {
      return sources.maps?.();
    } catch {
      return undefined;
    }
  });
  const fillGauge = (name: string, help: string, field: 'entries' | 'maxEntries') =>
    new Gauge({
      name, help, labelNames: ['map'] as const, registers: [registry],
      collect(this: Gauge<'map'>) {
        const rows = fillNow();
        if (!rows) return;
        this.reset();
        for (const r of rows) this.set({ map: r.map }, r[field]);
      },
    });
  fillGauge('burrow_map_entries', 'Entries in each datapath map (arrays: always max_entries)', 'entries');
  fillGauge('burrow_map_max_entries', 'max_entries of each datapath map (a reconcile that needs more is refused)', 'maxEntries');
  const drift = new Counter({
    name: 'burrow_drift_repairs_total',
    help: 'Entries the periodic resync found changed behind burrow\'s back (maps, kernel routes, nft), then repaired',
    labelNames: ['part'] as const,
    registers: [registry],
  });
  const resyncs = new Counter({ name: 'burrow_resyncs_total', help: 'Resync comparisons by scope (maps: the datapath maps; kernel: maps, kernel routes and nft)', labelNames: ['scope'] as const, registers: [registry] });
  const resyncDuration = new Histogram({
    name: 'burrow_resync_duration_seconds',
    help: 'Time a resync comparison took (before the repairing flush)',
    labelNames: ['scope'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const skipped = new Counter({ name: 'burrow_datastore_objects_skipped_total', help: 'Datastore objects that failed their own rules and were skipped (their last good version stays)', registers: [registry] });
  const events = new Counter({ name: 'burrow_source_events_total', help: 'Source events (a file re-read, a file removed, a datastore object changed) applied to the control plane', registers: [registry] });
  const eventDuration = new Histogram({
    name: 'burrow_source_events_apply_duration_seconds',
    help: 'Time applying one batch of source events to the engine took (the cycle that flushes them is burrow_reconcile_duration_seconds)',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  if (sources.datastore) {
    const ds = sources.datastore;
    new Gauge({
      name: 'burrow_datastore_connected', help: '1 while the datastore is connected (files: always); 0 while it is away and the datapath forwards with the last known state', labelNames: ['datastore'] as const, registers: [registry],
      collect(this: Gauge<'datastore'>) {
        const d = ds();
        this.reset();
        this.set({ datastore: d.kind }, d.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'burrow_datastore_stale_seconds', help: 'How long the datastore has been away (0 while connected)', labelNames: ['datastore'] as const, registers: [registry],
      collect(this: Gauge<'datastore'>) {
        const d = ds();
        this.reset();
        this.set({ datastore: d.kind }, d.staleSince ? (Date.now() - d.staleSince.getTime()) / 1000 : 0);
      },
    });
  }
  if (sources.config) {
    const cfg = sources.config;
    new Gauge({ name: 'burrow_config_valid', help: '1 when the input (manifests, datastore) validates; 0: it does not, nothing of it is applied and the last good state stays (the log and /readyz say why)', registers: [registry], collect(this: Gauge) { this.set(cfg().valid ? 1 : 0); } });
    new Gauge({ name: 'burrow_config_errors', help: 'Validation errors in the input now (0 when valid)', registers: [registry], collect(this: Gauge) { this.set(cfg().errors); } });
  }
  if (sources.ready) {
    const ready = sources.ready;
    new Gauge({ name: 'burrow_ready', help: '1 when /readyz is 200: programs attached, maps loaded, the last reconcile applied (or kept the last good state)', registers: [registry], collect(this: Gauge) { this.set(ready() ? 1 : 0); } });
  }
  new Gauge({ name: 'burrow_build_info', help: 'burrow\'s version and the Node.js running it (always 1)', labelNames: ['version', 'node_version'] as const, registers: [registry] })
    .set({ version: packageVersion(), node_version: process.version }, 1);
  for (const o of ['ok', 'invalid', 'error'] as const) reconciles.inc({ outcome: o }, 0);
  for (const p of ['routes', 'peers', 'config', 'kernelRoutes', 'nat'] as const) drift.inc({ part: p }, 0);
  for (const s of ['maps', 'kernel'] as const) resyncs.inc({ scope: s }, 0);
  return {
    registry,
    observeReconcile(outcome, n, seconds) {
      reconciles.inc({ outcome });
      if (n > 0) changes.inc(n);
      duration.observe(seconds);
      if (outcome === 'ok') lastOk.setToCurrentTime();
    },
    observeDrift(part, count) {
      if (count > 0) drift.inc({ part }, count);
    },
    observeResync(kernel, seconds) {
      const scope = kernel ? 'kernel' : 'maps';
      resyncs.inc({ scope });
      resyncDuration.observe({ scope }, seconds);
    },
    observeEvents(count, seconds) {
      events.inc(count);
      if (seconds !== undefined) eventDuration.observe(seconds);
    },
    observeSkipped(count) {
      skipped.inc(count);
    },
  };
}

/**
 * The event loop's longest delay over the last 10-20 s (perf_hooks' histogram, 20 ms resolution,
 * rolled every 10 s): what /livez judges a blocked loop by. A loop blocked right now cannot answer
 * at all; the probe's timeout sees that.
 */
export class EventLoopWatch {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private previousMaxMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(windowMs = 10_000) {
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.previousMaxMs = this.histogram.max / 1e6;
      this.histogram.reset();
    }, windowMs);
    this.timer.unref();
  }

  /** The longest delay seen in the current and the previous window, and the current p99, in ms. */
  sample(): { maxMs: number; p99Ms: number } {
    const current = this.histogram.count > 0 ? this.histogram.max / 1e6 : 0;
    return { maxMs: Math.round(Math.max(this.previousMaxMs, current)), p99Ms: this.histogram.count > 0 ? Math.round(this.histogram.percentile(99) / 1e6) : 0 };
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

export interface Health {
  ok: boolean;
  detail: Record<string, unknown>;
}

/** Parses `--listen`: "PORT", ":PORT" or "HOST:PORT". */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port > 65535) throw new RangeError(`--listen '${value}': expected PORT, :PORT or HOST:PORT`);
  // An IPv6 host in brackets ([::]:9095) is listened on without them.
  return { host: (m[1] || '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port };
}

/** A `--listen`-style address as a zod field (agentd's --listen, agentctl status --agent). */
export const listenField = (hint = 'expected PORT, :PORT or HOST:PORT') =>
  z.string().refine((v) => {
    try {
      parseListen(v);
      return true;
    } catch {
      return false;
    }
  }, hint);

/** agentd's answers to the probes (docs/operations.md, "Probes"). */
export interface Probes {
  /** The older summary: 200 when the last reconcile succeeded and the links are attached. */
  healthz(): Health;
  /** The process and its event loop are alive; no cycle is wedged. */
  livez(): Health;
  /** Programs attached, maps loaded, the last reconcile applied or kept the last good state. */
  readyz(): Health;
  /** The first sync is done (then always 200). */
  startupz(): Health;
}

const PATHS = ['/metrics', '/livez', '/readyz', '/startupz', '/healthz'];

/**
 * Serves /metrics and the probes on `listen`; `health` may be the Probes or, as before, one
 * function for /healthz (the probes then answer from it too).
 */
export function serveMetrics(listen: string, metrics: AgentMetrics, health: Probes | (() => Health), log: Logger): Promise<http.Server> {
  const { host, port } = parseListen(listen);
  const probes: Probes = typeof health === 'function' ? { healthz: health, livez: health, readyz: health, startupz: health } : health;
  const server = http.createServer((req, res) => {
    const url = req.url?.split('?')[0];
    if (url === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        })
        .catch((e: unknown) => {
          res.writeHead(500).end(String(e));
        });
      return;
    }
    const probe = url === '/healthz' ? probes.healthz : url === '/livez' ? probes.livez : url === '/readyz' ? probes.readyz : url === '/startupz' ? probes.startupz : undefined;
    if (!probe) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${PATHS.join(', ')}\n`);
      return;
    }
    let h: Health;
    try {
      h = probe();
    } catch (e) {
      h = { ok: false, detail: { error: e instanceof Error ? e.message : String(e) } };
    }
    res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail }) + '\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      log.info({ host, port }, `serving ${PATHS.join(', ')}`);
      resolve(server);
    });
  });
}
