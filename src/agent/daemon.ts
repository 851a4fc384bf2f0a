/**
 * agentd's lifecycle, inside one node's network namespace:
 *
 *   start    read the manifests into the incremental engine (src/engine, docs/control-plane.md)
 *            → refuse if invalid → bpffs on the pin root → load the datapath (adopting pinned
 *            maps) → adopt what the node holds → first cycle → watch → periodic resync → "agentd ready"
 *   events   the file source re-reads only the file that changed; the engine recomputes only
 *            what that change affects and queues it; a cycle is triggered
 *   cycle    uplink facts → tunnel device → flush the queued changes (maps, kernel routes, nft)
 *            → attach or adopt the pinned links
 *   resync   every --resync ms: compare maps, kernel routes and nft with what was written (no
 *            re-parse, in slices), repair what drifted, count it (burrow_drift_repairs_total)
 *   stop     SIGTERM/SIGINT: close handles, leave the datapath forwarding (pinned links stay),
 *            or with --cleanup-on-exit remove everything; SIGHUP runs a cycle now
 *
 * Cycles never overlap: a change that arrives during one schedules exactly one more. Manifests
 * that do not validate (or do not describe this node) change nothing: the last good state stays
 * and the problem is logged. A restarted agentd's first cycle adopts everything and changes
 * nothing (`changes: 0` in its "reconciled" log line).
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';

import { formatDiagnostics, type ConfigDiagnostic } from '../config/index.js';
import { poolEncap, type DecapSourceCheck, type TunnelPeer } from '../compile/index.js';
import type { DatastoreSpec } from '../engine/datastore.js';
import { Engine, type EngineTarget } from '../engine/engine.js';
import type { SourceEvent } from '../engine/events.js';
import { FileSource } from '../engine/file-source.js';
import { datapathTarget } from '../engine/target.js';
import { ensureAttachments, ensureDecapAttachments, linksDir, tcAttachKind, type AttachmentResult, type AttachmentSpec } from './attach.js';
import { cleanupAgentState, type CleanupReport } from './cleanup.js';
import { loadDatapath, objectPath, type Datapath, type DatapathMaps } from './datapath.js';
import { carryStats, pinAsideIncompatibleMaps, removeAsideMaps } from './upgrade.js';
import { collectGarbage, favourMemory, MemoryKeeper } from './memory.js';
import { createMetrics, EventLoopWatch, serveMetrics, type AgentMetrics, type Health, type MapFill } from './metrics.js';
import { preparePinRoot, undoPinRootMount } from './pin-root.js';
import { TunnelModeSwitch } from './mode-switch.js';
import { NexthopKeeper } from './nexthops.js';
import { PmtuPoller, removePmtuRoutes } from './pmtu.js';
import { ensureTunnelDevice, tunnelPeerName } from './tunnel-device.js';
import { chooseDecapHook, chooseGroHop, findUplinks, type DecapHook, type DecapHookChoice, type GroHopChoice, type GroHopDecision, type UplinkSet } from './uplink.js';

export interface DaemonOptions {
  node: string;
  /** Manifest files or directories (the file datastore). */
  manifests: readonly string[];
  /** Where resources come from: files (default) or Calico's etcdv3 datastore. */
  datastore?: DatastoreSpec;
  /** --uplink: one or more (docs/datapath.md, "Loopback tunnel source"); default: found. */
  uplink?: readonly string[] | undefined;
  pinRoot: string;
  decapHook: DecapHookChoice;
  /** --vxlan-gro: tc_decap's GRO hop for VXLAN (docs/datapath.md, "VXLAN through the tunnel device's GRO"); default 'auto'. */
  vxlanGro?: GroHopChoice;
  tunnelDevice: string;
  /** Decap's inner source check (docs/datapath.md step 12); default 'strict'. */
  decapSourceCheck?: DecapSourceCheck;
  listen?: string | undefined;
  cleanupOnExit: boolean;
  debounceMs: number;
  /** Drift check of the maps (and, every routeRefreshMs, kernel routes and nft); 0: never. */
  resyncMs: number;
  /** Kernel routes and nft are compared on the first resync after this long (Felix's routeRefreshInterval); 0: every resync. */
  routeRefreshMs?: number;
  /**
   * A change of the tunnel modes peers use is applied in phases (mode-switch.ts): accept the new
   * modes this long before sending them, then keep accepting the old ones for `peerGraceMs`.
   */
  acceptAheadMs: number;
  peerGraceMs: number;
  /** Forget a learned path MTU after this long (default DEFAULT_PMTU_EXPIRY_MS, 10 min). */
  pmtuExpiryMs?: number;
  /** Keep the `nexthops` map (nexthops.ts); default true. Off: the map is emptied, the programs ask the kernel. */
  nexthops?: boolean;
  log: Logger;
  /** Files over this are refused (default: the file source's, 64 MiB). */
  maxFileBytes?: number;
  /** /livez fails while one cycle has run longer than this (default WEDGED_AFTER_MS). */
  wedgedAfterMs?: number;
  /** /livez fails when the event loop was blocked this long at once in the last 10-20 s (default LOOP_BLOCKED_MS). */
  loopBlockedMs?: number;
}

/** A cycle running longer than this is wedged: /livez fails (a 100k-route cold cycle takes seconds). */
export const WEDGED_AFTER_MS = 180_000;
/** An event loop blocked this long at once is not alive: /livez fails. */
export const LOOP_BLOCKED_MS = 30_000;

/** Where start() is (/startupz, /readyz): then 'running' until 'stopping'. */
export type DaemonPhase = 'starting' | 'reading datastore' | 'loading datapath' | 'first reconcile' | 'running' | 'stopping';

/** Diagnostics shown in a log line or /healthz at most: a thousand broken blocks are not a thousand lines. */
const MAX_SHOWN = 20;

export interface CycleSummary {
  reason: string;
  outcome: 'ok' | 'invalid' | 'error';
  /** Map entries, kernel routes and nft changes, plus tunnel-device and link changes. */
  changes: number;
  stateChanges: number;
  device: string[];
  links: Array<Pick<AttachmentResult, 'action' | 'iface' | 'point'> & { pin: string }>;
  removedLinks: string[];
  decapHook?: DecapHook;
  /** Where a tunnel-mode switch stands (mode-switch.ts). */
  phase?: string;
  /** Entries a resync found drifted (then repaired), when this cycle was a resync. */
  drift?: number;
  durationMs: number;
}

/** agentd cannot start because its input (manifests, node name) is invalid: exit code 1. */
export class InvalidStartError extends Error {
  override readonly name = 'InvalidStartError';
}

export class Daemon {
  private datapath: Datapath | undefined;
  private target: EngineTarget | undefined;
  private source: { start(): Promise<void>; close(): void } | undefined;
  /** The datastore's connection: since when it has been away (undefined: connected, or files). */
  private staleSince: Date | undefined;
  /** Datastore objects skipped now (they fail their own rules), with why (capped text). */
  private readonly skipped = new Map<string, string>();
  readonly engine: Engine;
  private resync: NodeJS.Timeout | undefined;
  private server: http.Server | undefined;
  private running: Promise<void> | undefined;
  private again: string | undefined;
  private stopping = false;
  /** Gives memory back after the cold read and after large batches of events (memory.ts). */
  private readonly memory = new MemoryKeeper({
    minEvents: 1000,
    idleMs: 200,
    minIntervalMs: 5000,
    busy: () => this.running !== undefined,
    released: (ms, rss) => this.log.debug({ ms: Math.round(ms), rssMiB: Math.round(rss) }, 'memory released'),
  });
  private readonly log: Logger;
  private readonly metrics: AgentMetrics;
  /** Probes (docs/operations.md, "Probes"): where start() is, since when, and why it waits. */
  private phase: DaemonPhase = 'starting';
  private phaseSince = new Date();
  private startWaiting: string | undefined;
  /** When the running cycle began (undefined: none running): /livez's wedge check. */
  private cycleStartedAt: number | undefined;
  /** The last cycle that applied (outcome ok): its links are what /readyz checks. */
  private lastApplied: (CycleSummary & { at: string }) | undefined;
  private readonly loopWatch = new EventLoopWatch();
  private hook: DecapHook | undefined;
  private lastCycle: CycleSummary | undefined;
  private lastError: string | undefined;
  /** What /healthz says of the last invalid cycle: where and which rule, not the manifests' text. */
  private lastInvalid: ReturnType<typeof invalidDetail> | undefined;
  /** The peers last derived (before any transitional widening). */
  private previous: { peers: readonly TunnelPeer[] } | undefined;
  private readonly modeSwitch: TunnelModeSwitch;
  private uplink: UplinkSet | undefined;
  private uplinkFor: string | undefined;
  /** tc_decap's GRO hop, decided with the uplinks; the tunnel device's peer and MAC it needs. */
  private groHop: GroHopDecision | undefined;
  private tunnel: { peerIfindex: number; mac: string } | undefined;
  private resyncDue = false;
  private lastKernelResync = Date.now();
  private switchTimer: NodeJS.Timeout | undefined;
  private pmtu: PmtuPoller | undefined;
  private nexthops: NexthopKeeper | undefined;

  constructor(private readonly opts: DaemonOptions) {
    this.log = opts.log.child({ component: 'daemon' });
    this.metrics = createMetrics({
      stats: () => this.datapath?.maps.stats,
      maps: () => this.mapFill(),
      datastore: () => ({ kind: this.opts.datastore?.kind ?? 'file', connected: this.staleSince === undefined, staleSince: this.staleSince }),
      config: () => ({ valid: this.engine.valid, errors: this.engine.valid ? 0 : this.engine.errors().length }),
      ready: () => this.readyz().ok,
    });
    this.engine = new Engine({ localNode: opts.node, tunnelDevice: opts.tunnelDevice, ...(opts.decapSourceCheck ? { decapSourceCheck: opts.decapSourceCheck } : {}) });
    this.modeSwitch = new TunnelModeSwitch(opts.acceptAheadMs, opts.peerGraceMs);
  }

  get summary(): CycleSummary | undefined {
    return this.lastCycle;
  }

  async start(): Promise<void> {
    // The probes and /metrics answer from the very start, before the datastore read and the first cycle.
    if (this.opts.listen) {
      this.server = await serveMetrics(this.opts.listen, this.metrics, {
        healthz: () => this.health(),
        livez: () => this.livez(),
        readyz: () => this.readyz(),
        startupz: () => this.startupz(),
      }, this.opts.log.child({ component: 'metrics' }));
    }
    try {
      await this.startInner();
    } catch (e) {
      this.closeServer();
      throw e;
    }
  }

  private setPhase(phase: DaemonPhase): void {
    this.phase = phase;
    this.phaseSince = new Date();
  }

  private closeServer(): void {
    this.server?.close();
    this.server?.closeAllConnections();
    this.server = undefined;
  }

  private async startInner(): Promise<void> {
    const { pinRoot } = this.opts;
    // Read everything once; refuse before touching anything when it cannot describe this node.
    const ds = this.opts.datastore ?? { kind: 'file' as const };
    const datastoreHooks = {
      sink: (events: readonly SourceEvent[]) => this.onEvents(events),
      onSkipped: (key: string, diagnostics: readonly ConfigDiagnostic[]) => {
        // The text of the first MAX_SHOWN only: a datastore full of bad objects costs a key each.
        this.skipped.set(key, this.skipped.size < MAX_SHOWN || this.skipped.has(key) ? formatCapped(diagnostics) : '');
        this.metrics.observeSkipped(1);
      },
      onAccepted: (key: string) => {
        if (this.skipped.size > 0) this.skipped.delete(key);
      },
      onConnection: (up: boolean, why?: string) => {
        if (up) {
          if (this.staleSince) this.log.info({ staleSince: this.staleSince }, 'datastore back: resynced');
          this.staleSince = undefined;
        } else if (!this.staleSince) {
          this.staleSince = new Date();
          this.log.warn({ why }, 'datastore away: the datapath keeps forwarding with the last known state');
        }
      },
    };
    // The datastore clients are loaded only when chosen (etcd3 + gRPC, the Kubernetes client: ~1 s of module loading).
    const makeSource = async (): Promise<{ start(): Promise<void>; close(): void }> => ds.kind === 'etcdv3'
      ? new (await import('../engine/etcd-source.js')).EtcdSource({ endpoints: ds.endpoints, ...(ds.tls ? { tls: ds.tls } : {}), log: this.opts.log.child({ component: 'etcd-source' }), ...datastoreHooks })
      : ds.kind === 'kubernetes'
        ? new (await import('../engine/kube-source.js')).KubeSource({ ...(ds.kubeconfig ? { kubeconfig: ds.kubeconfig } : { inCluster: true }), log: this.opts.log.child({ component: 'kube-source' }), ...datastoreHooks })
      : new FileSource({
        paths: this.opts.manifests,
        sink: (events) => this.onEvents(events),
        debounceMs: this.opts.debounceMs,
        ...(this.opts.maxFileBytes !== undefined ? { maxFileBytes: this.opts.maxFileBytes } : {}),
        log: this.opts.log.child({ component: 'file-source' }),
      });
    this.setPhase('reading datastore');
    // A datastore that cannot be read at start is waited for (1 s doubling to 10 s), as calico-node
    // does: /startupz says why, and the startup probe's budget decides when to restart. Files are not.
    for (let delay = 1000; ; delay = Math.min(delay * 2, 10_000)) {
      this.source = await makeSource();
      try {
        await this.source.start();
        break;
      } catch (e) {
        this.source.close();
        if (ds.kind === 'file' || this.stopping) throw e;
        this.startWaiting = `the ${ds.kind} datastore cannot be read: ${e instanceof Error ? e.message : String(e)}`;
        this.log.warn({ retryInMs: delay }, `${this.startWaiting}; retrying`);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.stopping) throw e;
      }
    }
    this.startWaiting = undefined;
    collectGarbage(); // the parsed documents are garbage now: collect them before the kernel state is built
    this.log.debug({ rssMiB: rssMiB(), routes: this.engine.derived.routes.size }, 'manifests read');
    if (!this.engine.valid) {
      this.source.close();
      throw new InvalidStartError(this.describeInvalid());
    }
    this.setPhase('loading datapath');
    const pin = preparePinRoot(pinRoot);
    this.log.info({ pinRoot, bpffs: pin.mount }, 'pin root ready');
    if (pin.warning) this.log.warn(pin.warning);
    try {
      await this.startDatapath();
    } catch (e) {
      // A failed start leaves no mount of its own behind.
      this.datapath?.close();
      this.datapath = undefined;
      if (pin.mount === 'mounted') undoPinRootMount(pinRoot);
      throw e;
    }
  }

  /** start(), once the pin root is on a bpffs: the datapath, adoption, the first cycle, resync, /metrics. */
  private async startDatapath(): Promise<void> {
    const { pinRoot } = this.opts;
    // A map whose layout changed (upgrade, rollback) is pinned aside and migrated (upgrade.ts).
    const programs = ['tc_encap', 'tc_decap', 'xdp_decap'] as const;
    const migrations = pinAsideIncompatibleMaps(pinRoot, programs.map((p) => objectPath(p)));
    for (const m of migrations) this.log.debug({ map: m.map, aside: m.aside, differences: m.differences }, 'map layout changed: pinned aside');
    this.datapath = loadDatapath(pinRoot, programs);
    for (const m of migrations) m.carried = carryStats(m, this.datapath.maps.stats);
    this.log.info({ programs: Object.keys(this.datapath.programs) }, 'datapath loaded');
    this.target = datapathTarget(this.datapath.maps);
    await this.engine.adopt(this.target);
    this.log.debug({ rssMiB: rssMiB() }, 'node state adopted');
    this.setPhase('first reconcile');
    const first = await this.cycle('start');
    if (first.outcome === 'invalid') throw new InvalidStartError(this.lastError ?? 'invalid input');
    if (first.outcome !== 'ok') throw new Error(`the first reconcile failed: ${this.lastError ?? first.outcome}`);
    // The new programs are in place: the maps pinned aside go (upgrade.ts, step 4).
    const aside = removeAsideMaps(pinRoot);
    for (const m of migrations) this.log.info({ map: m.map, oldMapId: m.oldId, differences: m.differences, carriedCounters: m.carried }, `map ${m.map} layout changed: migrated`);
    const stale = aside.filter((n) => !migrations.some((m) => m.aside.endsWith(`/${n}`)));
    if (stale.length > 0) this.log.info({ removed: stale }, 'maps pinned aside by an interrupted migration removed');
    if (this.opts.resyncMs > 0) {
      this.resync = setInterval(() => {
        this.resyncDue = true;
        this.trigger('resync');
      }, this.opts.resyncMs);
      this.resync.unref();
    }
    this.pmtu = new PmtuPoller({
      maps: () => this.datapath?.maps,
      engine: this.engine,
      uplink: () => this.uplinkFacts(),
      peers: () => this.peerAddresses(),
      log: this.opts.log.child({ component: 'pmtu' }),
      ...(this.opts.pmtuExpiryMs !== undefined ? { expiryMs: this.opts.pmtuExpiryMs } : {}),
    });
    this.pmtu.start();
    if (this.opts.nexthops ?? true) {
      this.nexthops = new NexthopKeeper({
        maps: () => this.datapath?.maps,
        peers: () => this.peerAddresses(),
        local: () => this.engine.derived.local?.address,
        exclude: [this.opts.tunnelDevice, tunnelPeerName(this.opts.tunnelDevice)],
        log: this.opts.log.child({ component: 'nexthops' }),
      });
      this.nexthops.start();
    } else {
      clearNexthops(this.datapath.maps);
    }
    this.setPhase('running');
    this.log.info({ node: this.opts.node, decapHook: this.hook, manifests: this.opts.manifests, rssMiB: rssMiB(), cpuMs: cpuMs() }, 'agentd ready');
    // The cold read's garbage and the grown young generation go back (after 'ready': not on the start path).
    setImmediate(() => {
      if (this.stopping) return;
      favourMemory();
      this.memory.releaseNow();
    });
  }

  /** The derived peers' addresses (the path MTU poller and the next-hop keeper follow them). */
  private peerAddresses(): Set<string> {
    return new Set([...this.engine.derived.peers.values()].map((p) => p.address));
  }

  /** Events from the file source: applied to the engine at once (cheap), then one cycle flushes them. */
  private onEvents(events: readonly SourceEvent[]): void {
    if (this.stopping) return;
    const t0 = process.hrtime.bigint();
    const pending = this.engine.apply(events);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    this.metrics.observeEvents(events.length, ms / 1000);
    this.memory.noteEvents(events.length);
    this.log.debug({ events: events.length, sources: events.map((e) => e.source.id).slice(0, MAX_SHOWN), pending, ms }, 'source events applied');
    if (this.datapath) this.trigger(`${events.map((e) => e.source.id).slice(0, 3).join(', ')}${events.length > 3 ? ', …' : ''} changed`);
  }

  /** The errors that keep the engine from applying, as one message (capped). */
  private describeInvalid(): string {
    const errors = this.engine.errors();
    return `manifests do not validate (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${formatCapped(errors)}`;
  }

  /** Asks for a cycle; coalesces with one already queued. */
  trigger(reason: string): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = reason;
      return;
    }
    this.running = this.cycle(reason)
      .then(() => undefined)
      .finally(() => {
        this.running = undefined;
        const next = this.again;
        this.again = undefined;
        if (next !== undefined) this.trigger(next);
        else this.memory.afterCycle();
      });
  }

  /** A resync now, kernel routes and nft included (agentd's nft table watch, nft-watch.ts). */
  resyncKernel(reason: string): void {
    if (!this.target) return;
    this.resyncDue = true;
    this.lastKernelResync = 0;
    this.trigger(reason);
  }

  /** Resolves once no cycle is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  health(): Health {
    const attached = this.lastCycle?.links.length ?? 0;
    const ok = this.lastCycle?.outcome === 'ok' && attached >= 2;
    return {
      ok,
      detail: {
        node: this.opts.node,
        decapHook: this.hook,
        tcAttach: tcAttachKind(),
        lastReconcile: this.lastCycle,
        ...(this.lastError ? (this.lastCycle?.outcome === 'invalid' && this.lastInvalid ? this.lastInvalid : { lastError: this.lastError }) : {}),
        ...(this.opts.datastore && this.opts.datastore.kind !== 'file' ? { datastore: this.datastoreDetail() } : {}),
        ...(this.skipped.size > 0
          ? { skippedCount: this.skipped.size, skippedObjects: Object.fromEntries([...this.skipped].filter(([, why]) => why !== '').slice(0, MAX_SHOWN)) }
          : {}),
      },
    };
  }

  /** /livez: the event loop answers and was not blocked for LOOP_BLOCKED_MS, no cycle has run for WEDGED_AFTER_MS. */
  livez(): Health {
    const loop = this.loopWatch.sample();
    const cycleMs = this.cycleStartedAt === undefined ? undefined : Date.now() - this.cycleStartedAt;
    const wedgedAfter = this.opts.wedgedAfterMs ?? WEDGED_AFTER_MS;
    const blockedAfter = this.opts.loopBlockedMs ?? LOOP_BLOCKED_MS;
    const reasons: string[] = [];
    if (cycleMs !== undefined && cycleMs > wedgedAfter) reasons.push(`a reconcile has been running for ${Math.round(cycleMs / 1000)} s (wedged after ${wedgedAfter / 1000} s)`);
    if (loop.maxMs > blockedAfter) reasons.push(`the event loop was blocked for ${loop.maxMs} ms at once (limit ${blockedAfter} ms)`);
    return {
      ok: reasons.length === 0,
      detail: {
        node: this.opts.node,
        phase: this.phase,
        uptimeSeconds: Math.round(process.uptime()),
        eventLoopDelayMs: loop,
        ...(cycleMs !== undefined ? { cycleRunningMs: cycleMs } : {}),
        ...(reasons.length > 0 ? { reasons } : {}),
      },
    };
  }

  /**
   * /readyz: started, maps loaded, the links of the last applied cycle still pinned, and the last
   * cycle applied or kept the last good state (invalid input: ready, `config.valid: false`; a
   * datastore away: ready, `datastore.connected: false`). A failed cycle (outcome error) is not ready.
   */
  readyz(): Health {
    const reasons: string[] = [];
    if (this.phase !== 'running') reasons.push(this.phase === 'stopping' ? 'stopping' : `starting: ${this.phase}${this.startWaiting ? ` (${this.startWaiting})` : ''}`);
    else {
      if (!this.datapath) reasons.push('the datapath maps are not loaded');
      const links = this.lastApplied?.links ?? [];
      if (links.length < 2) reasons.push('no reconcile has attached the programs');
      const dir = linksDir(this.opts.pinRoot);
      // lstat, not existsSync: on kernels without tcx (or XDP links) the "pin" is a record, a
      // symlink whose target is the record's text (src/bpf/link.ts), which existsSync follows and
      // calls gone. /readyz said 503 "link pins gone" for every clsact node on 6.1 for that.
      const missing = links.filter((l) => fs.lstatSync(path.join(dir, l.pin), { throwIfNoEntry: false }) === undefined).map((l) => l.pin);
      if (missing.length > 0) reasons.push(`link pins gone: ${missing.join(', ')}`);
      if (this.lastCycle?.outcome === 'error') reasons.push(`the last reconcile failed: ${(this.lastError ?? '').trimEnd().split('\n')[0]}`);
    }
    const invalid = this.lastCycle?.outcome === 'invalid' || (this.phase === 'running' && !this.engine.valid);
    return {
      ok: reasons.length === 0,
      detail: {
        node: this.opts.node,
        phase: this.phase,
        ...(reasons.length > 0 ? { reasons } : {}),
        decapHook: this.hook,
        links: this.lastApplied?.links ?? [],
        config: invalid
          ? { valid: false, keeping: this.lastApplied ? `the last good state (applied ${this.lastApplied.at})` : 'nothing applied yet', ...(this.lastInvalid ?? {}) }
          : { valid: true },
        datastore: this.datastoreDetail(),
        ...(this.lastCycle ? { lastReconcile: { reason: this.lastCycle.reason, outcome: this.lastCycle.outcome, durationMs: Math.round(this.lastCycle.durationMs) } } : {}),
        ...(this.lastApplied ? { lastApplied: this.lastApplied.at } : {}),
        ...(this.skipped.size > 0 ? { skippedCount: this.skipped.size } : {}),
      },
    };
  }

  /** /startupz: 200 once the first cycle applied (and from then on); until then where start() is and why it waits. */
  startupz(): Health {
    const started = this.phase === 'running' || (this.phase === 'stopping' && this.lastApplied !== undefined);
    return {
      ok: started,
      detail: {
        node: this.opts.node,
        phase: this.phase,
        since: this.phaseSince.toISOString(),
        ...(this.startWaiting ? { waiting: this.startWaiting } : {}),
        ...(!started && this.lastError ? { lastError: this.lastError.trimEnd().split('\n')[0] } : {}),
        datastore: this.datastoreDetail(),
      },
    };
  }

  private datastoreDetail() {
    const kind = this.opts.datastore?.kind ?? 'file';
    return {
      kind,
      connected: this.staleSince === undefined,
      ...(this.staleSince ? { staleSince: this.staleSince.toISOString(), staleSeconds: Math.round((Date.now() - this.staleSince.getTime()) / 1000) } : {}),
    };
  }

  /** The maps' fill for /metrics (burrow_map_entries): hash and LPM maps counted in batches, arrays are full. */
  private mapFill(): MapFill[] | undefined {
    const maps = this.datapath?.maps;
    if (!maps) return undefined;
    const count = (m: { scanRaw(each: (k: Buffer, v: Buffer, n: number) => void): void }): number => {
      let n = 0;
      m.scanRaw((_k, _v, c) => (n += c));
      return n;
    };
    return [
      { map: 'routes', entries: count(maps.routes), maxEntries: maps.routes.info.maxEntries },
      { map: 'peers', entries: count(maps.peers), maxEntries: maps.peers.info.maxEntries },
      { map: 'pmtu', entries: count(maps.pmtu), maxEntries: maps.pmtu.info.maxEntries },
      { map: 'nexthops', entries: count(maps.nexthops), maxEntries: maps.nexthops.info.maxEntries },
      { map: 'config', entries: maps.config.info.maxEntries, maxEntries: maps.config.info.maxEntries },
      { map: 'stats', entries: maps.stats.info.maxEntries, maxEntries: maps.stats.info.maxEntries },
    ];
  }

  private async cycle(reason: string): Promise<CycleSummary> {
    const started = process.hrtime.bigint();
    this.cycleStartedAt = Date.now();
    const summary: CycleSummary = { reason, outcome: 'ok', changes: 0, stateChanges: 0, device: [], links: [], removedLinks: [], durationMs: 0 };
    try {
      if (this.resyncDue) {
        this.resyncDue = false;
        const kernel = Date.now() - this.lastKernelResync >= (this.opts.routeRefreshMs ?? 0);
        if (kernel) this.lastKernelResync = Date.now();
        const resyncStarted = process.hrtime.bigint();
        const drift = await this.engine.resync(this.target!, { kernel });
        this.metrics.observeResync(kernel, Number(process.hrtime.bigint() - resyncStarted) / 1e9);
        for (const [part, n] of Object.entries(drift) as [keyof typeof drift, number][]) this.metrics.observeDrift(part, n);
        const total = drift.routes + drift.peers + drift.config + drift.kernelRoutes + drift.nat;
        summary.drift = total;
        if (total > 0) this.log.warn({ drift }, 'resync: the node differed from what was written; repairing');
        this.uplinkFor = undefined; // look at the uplink again too
      }
      if (!this.engine.valid) {
        summary.outcome = 'invalid';
        this.lastError = this.describeInvalid();
        this.lastInvalid = invalidDetail(this.engine.errors());
        this.log.error({ errors: this.engine.errors().length }, `${this.lastError.trimEnd()}\nkeeping the current state`);
      } else {
        await this.apply(summary);
      }
    } catch (e) {
      summary.outcome = 'error';
      this.lastError = e instanceof Error ? e.message : String(e);
      this.log.error({ reason, err: e }, `reconcile failed; keeping the current state: ${this.lastError.trimEnd()}`);
    }
    summary.durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.cycleStartedAt = undefined;
    if (summary.outcome === 'ok') {
      this.lastError = undefined;
      this.lastApplied = { ...summary, at: new Date().toISOString() };
    }
    this.metrics.observeReconcile(summary.outcome, summary.changes, summary.durationMs / 1000);
    this.lastCycle = summary;
    if (summary.outcome === 'ok') {
      const warnings = this.engine.warnings(this.uplinkFacts());
      if (warnings.length > 0 && summary.changes > 0) this.log.warn(formatCapped(warnings));
      this.log.info(summary, 'reconciled');
    }
    return summary;
  }

  private uplinkFacts() {
    const u = this.uplink;
    if (!u) return undefined;
    const { primary } = u;
    const groHop = this.groHop?.on && this.tunnel ? { groHop: { ifindex: this.tunnel.peerIfindex, mac: this.tunnel.mac } } : {};
    // With the FIB choosing the uplink, no route names a device (docs/datapath.md, "Loopback tunnel source").
    return u.fib
      ? { ifindex: primary.ifindex, mac: primary.mac, mtu: u.mtu, fib: true, ...groHop }
      : { name: primary.name, ifindex: primary.ifindex, mac: primary.mac, mtu: u.mtu, ...groHop };
  }

  private async apply(summary: CycleSummary): Promise<void> {
    const local = this.engine.derived.local!;
    if (!this.uplink || this.uplinkFor !== local.address) {
      this.uplink = await findUplinks(this.opts.uplink, local.address, [this.opts.tunnelDevice]);
      this.uplinkFor = local.address;
      const u = this.uplink;
      if (u.fib) this.log.info({ uplinks: u.all.map((x) => x.name), source: u.sourceDevice, mtu: u.mtu }, 'tunnel source not on a single uplink: tc_encap follows the FIB, decap on every uplink');
      this.groHop = chooseGroHop(this.opts.vxlanGro ?? 'auto', u.all);
      this.log.info({ vxlanGro: this.groHop.on, why: this.groHop.reason }, 'VXLAN GRO hop chosen');
    }
    const uplink = this.uplink;
    const tunnelAddresses = [...new Set([local.ipipTunnelAddr, local.vxlanTunnelAddr].filter((a): a is string => a !== undefined))];
    const device = await ensureTunnelDevice(this.opts.tunnelDevice, uplink.mtu, tunnelAddresses);
    this.tunnel = { peerIfindex: device.peerIfindex, mac: device.mac };
    summary.device = device.changes;
    const next = { peers: [...this.engine.derived.peers.values()] };
    const decision = this.modeSwitch.decide(this.previous, next);
    if (decision.phase !== 'steady') this.log.info({ phase: decision.phase, nextInMs: decision.wakeInMs }, 'switching peer tunnel modes');
    const result = await this.engine.flush(this.target!, { uplink: this.uplinkFacts()!, peers: decision.apply.peers, peersOnly: decision.phase === 'accepting' });
    this.previous = next;
    summary.phase = decision.phase;
    if (this.switchTimer) clearTimeout(this.switchTimer);
    this.switchTimer = decision.wakeInMs === undefined ? undefined : setTimeout(() => this.trigger(`tunnel switch: ${decision.phase} phase over`), decision.wakeInMs);
    summary.stateChanges = result.changes;
    this.nexthops?.peersChanged();
    const links = this.attach(uplink);
    summary.decapHook = this.hook;
    summary.links = links.attachments.map((a) => ({ pin: a.pin.split('/').pop()!, action: a.action, iface: a.iface, point: a.point }));
    summary.removedLinks = links.removed;
    summary.changes = result.changes + device.changes.length + links.attachments.filter((a) => a.action !== 'adopted').length + links.removed.length;
  }

  /** tc_encap on the tunnel device, decap on every uplink. */
  private attachSpecs(uplinks: UplinkSet, hook: DecapHook): AttachmentSpec[] {
    const p = this.datapath!.programs;
    return [
      { program: p.tc_encap, programName: 'tc_encap', iface: this.opts.tunnelDevice, point: 'tcx-egress' },
      ...uplinks.all.map((uplink): AttachmentSpec => (hook === 'xdp'
        ? { program: p.xdp_decap, programName: 'xdp_decap', iface: uplink.name, point: 'xdp' }
        : { program: p.tc_decap, programName: 'tc_decap', iface: uplink.name, point: 'tcx-ingress' })),
    ];
  }

  private attach(uplinks: UplinkSet): ReturnType<typeof ensureAttachments> {
    const dir = linksDir(this.opts.pinRoot);
    const uplink = uplinks.primary;
    if (!this.hook) {
      // One hook for all: XDP only when every uplink would take it natively.
      const vxlan = this.engine.store.pools.some((p) => poolEncap(p.pool)?.encap === 'vxlan');
      const choices = uplinks.all.map((u) => chooseDecapHook(this.opts.decapHook, u, { vxlan, groHop: this.groHop?.on ?? false }));
      const choice = choices.find((c) => c.hook === 'tc') ?? choices[0]!;
      this.hook = choice.hook;
      this.log.info({ uplink: uplinks.all.map((u) => u.name).join(','), kind: uplink.kind ?? 'device', driver: uplink.driver, decapHook: choice.hook, why: choice.reason }, 'decap hook chosen');
      if (tcAttachKind() === 'clsact') this.log.warn({ tcAttach: 'clsact' }, 'this kernel has no tcx (6.6+): TC programs attach as clsact filters, recorded under <pin-root>/links');
    }
    const { hook, ...result } = ensureDecapAttachments(dir, (h) => this.attachSpecs(uplinks, h), this.hook, this.opts.decapHook,
      (e) => this.log.warn({ uplink: uplink.name, err: e }, 'native XDP attach failed: falling back to TC decap'));
    this.hook = hook;
    return result;
  }

  /** Stops watching and serving; leaves the datapath attached unless cleanupOnExit. */
  async stop(signal: string): Promise<CleanupReport | undefined> {
    if (this.stopping) return undefined;
    this.stopping = true;
    this.setPhase('stopping');
    this.source?.close();
    this.memory.close();
    this.loopWatch.close();
    if (this.resync) clearInterval(this.resync);
    if (this.switchTimer) clearTimeout(this.switchTimer);
    await this.pmtu?.stop();
    await this.nexthops?.stop();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.idle();
    // Nobody follows the next hops while agentd is away: the programs ask the kernel until it is back.
    if (this.datapath) clearNexthops(this.datapath.maps);
    this.datapath?.close();
    this.datapath = undefined;
    if (!this.opts.cleanupOnExit) {
      this.log.info({ signal }, 'stopping; the datapath stays attached (pinned links) and keeps forwarding');
      return undefined;
    }
    const report = await cleanupAgentState({ pinRoot: this.opts.pinRoot, tunnelDevice: this.opts.tunnelDevice });
    this.log.info({ signal, ...report }, 'stopped and removed everything agentd made');
    return report;
  }
}


/** /healthz after invalid input: how many errors, and for the first few where and which rule (never a message: they quote the input). */
function invalidDetail(errors: readonly ConfigDiagnostic[]) {
  return {
    lastError: `manifests do not validate (${errors.length} error${errors.length === 1 ? '' : 's'}); the log has the messages`,
    invalid: errors.slice(0, MAX_SHOWN).map((d) => ({ file: d.file, document: d.document, kind: d.kind, name: d.name, path: d.path, rule: d.rule })),
  };
}

function formatCapped(ds: readonly ConfigDiagnostic[]): string {
  const shown = formatDiagnostics(ds.slice(0, MAX_SHOWN));
  return ds.length > MAX_SHOWN ? `${shown}\n… and ${ds.length - MAX_SHOWN} more` : shown;
}

const rssMiB = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);
/** CPU time the process has used (user + system, every thread): a start's cost whatever else runs. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return Math.round((u.user + u.system) / 1000);
};

/** Empties the `nexthops` map: every peer then goes the kernel's way (bpf_redirect_neigh, the FIB). */
function clearNexthops(maps: DatapathMaps): void {
  const held = maps.nexthops.entriesBatch().map(([peer]) => peer);
  if (held.length > 0) maps.nexthops.deleteBatch(held);
}
