/**
 * agentd's Prometheus metrics and its small HTTP server (`--listen`): /metrics (prom-client text
 * format) and /healthz (200 when the last reconcile succeeded and the datapath is attached, 503
 * with the reason otherwise). The datapath counters are read from the `stats` map at scrape time,
 * plus the nft tunnel guard's `drop_workload_tunnel` counter (nat.ts) under the same metric.
 */
import http from 'node:http';

import { z } from 'zod';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { burrowStatNames, sumStats, type BpfMap, type BurrowStatValue } from '../bpf/index.js';
import { GUARD_COUNTER, readGuardCounter } from './nat.js';
import { DEFAULT_NAT_TABLE } from './reconcile.js';

/** The nft guard's counter, or undefined when there is none (nothing reconciled in this namespace). */
export type GuardCounterReader = () => Promise<{ packets: number; bytes: number } | undefined>;

export type ReconcileOutcome = 'ok' | 'invalid' | 'error';

export interface AgentMetrics {
  readonly registry: Registry;
  observeReconcile(outcome: ReconcileOutcome, changes: number, seconds: number): void;
  /** Entries a resync found different from what was written (repaired by the next flush). */
  observeDrift(part: 'routes' | 'peers' | 'config' | 'kernelRoutes' | 'nat', count: number): void;
  /** Source events applied to the engine. */
  observeEvents(count: number): void;
  /** Datastore objects skipped because they fail their own rules. */
  observeSkipped(count: number): void;
}

export function createMetrics(
  stats: () => BpfMap<number, BurrowStatValue[]> | undefined,
  guard: GuardCounterReader = () => readGuardCounter(DEFAULT_NAT_TABLE),
): AgentMetrics {
  const registry = new Registry();
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
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const lastOk = new Gauge({ name: 'burrow_last_reconcile_success_timestamp_seconds', help: 'When a reconcile last succeeded', registers: [registry] });
  // One nft read per scrape for both metrics.
  let guardRead: { at: number; value: ReturnType<GuardCounterReader> } | undefined;
  const guardNow = (): ReturnType<GuardCounterReader> => {
    if (!guardRead || Date.now() - guardRead.at > 500) guardRead = { at: Date.now(), value: guard().catch(() => undefined) };
    return guardRead.value;
  };
  const read = (field: 'packets' | 'bytes') =>
    async function collect(this: Counter<'counter'>) {
      const map = stats();
      if (!map) return;
      const nft = await guardNow();
      this.reset();
      for (let i = 0; i < burrowStatNames.length; i++) {
        const values = map.get(i);
        if (values) this.inc({ counter: burrowStatNames[i]! }, Number(sumStats(values)[field]));
      }
      if (nft) this.inc({ counter: GUARD_COUNTER }, nft[field]);
    };
  new Counter({ name: 'burrow_datapath_packets_total', help: 'Datapath counters (stats map, summed over CPUs; drop_workload_tunnel: the nft tunnel guard): packets', labelNames: ['counter'] as const, registers: [registry], collect: read('packets') });
  new Counter({ name: 'burrow_datapath_bytes_total', help: 'Datapath counters (stats map, summed over CPUs; drop_workload_tunnel: the nft tunnel guard): bytes', labelNames: ['counter'] as const, registers: [registry], collect: read('bytes') });
  const drift = new Counter({
    name: 'burrow_drift_repairs_total',
    help: 'Entries the periodic resync found changed behind burrow\'s back (maps, kernel routes, nft), then repaired',
    labelNames: ['part'] as const,
    registers: [registry],
  });
  const skipped = new Counter({ name: 'burrow_datastore_objects_skipped_total', help: 'Datastore objects that failed their own rules and were skipped (their last good version stays)', registers: [registry] });
  const events = new Counter({ name: 'burrow_source_events_total', help: 'Source events (a file re-read, a file removed) applied to the control plane', registers: [registry] });
  for (const o of ['ok', 'invalid', 'error'] as const) reconciles.inc({ outcome: o }, 0);
  for (const p of ['routes', 'peers', 'config', 'kernelRoutes', 'nat'] as const) drift.inc({ part: p }, 0);
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
    observeEvents(count) {
      events.inc(count);
    },
    observeSkipped(count) {
      skipped.inc(count);
    },
  };
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
  return { host: m[1] || '127.0.0.1', port };
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

export function serveMetrics(listen: string, metrics: AgentMetrics, health: () => Health, log: Logger): Promise<http.Server> {
  const { host, port } = parseListen(listen);
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
    } else if (url === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h.detail }) + '\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      log.info({ host, port }, 'serving /metrics and /healthz');
      resolve(server);
    });
  });
}
