/**
 * agentd's lifecycle, inside one node's network namespace:
 *
 *   start    bpffs on the pin root → load the datapath (adopting pinned maps) → first cycle →
 *            watch the manifests (debounced) → periodic resync → "agentd ready"
 *   cycle    load + validate manifests → uplink facts → tunnel device → compile → reconcile maps,
 *            kernel routes and nft (reconcile.ts) → attach or adopt the pinned links
 *   stop     SIGTERM/SIGINT: close handles, leave the datapath forwarding (pinned links stay),
 *            or with --cleanup-on-exit remove everything; SIGHUP runs a cycle now
 *
 * Cycles never overlap: a change that arrives during one schedules exactly one more. Manifests
 * that do not validate (or do not describe this node) change nothing: the last good state stays
 * and the problem is logged. A restarted agentd's first cycle adopts everything and changes
 * nothing (`changes: 0` in its "reconciled" log line).
 */
import type http from 'node:http';
import type { Logger } from 'pino';

import { compileDesiredState, CompileError, type DesiredState } from '../compile/index.js';
import { formatDiagnostics, loadManifests, type Model } from '../config/index.js';
import { ensureAttachments, linksDir, type AttachmentResult, type AttachmentSpec } from './attach.js';
import { cleanupAgentState, type CleanupReport } from './cleanup.js';
import { loadDatapath, type Datapath } from './datapath.js';
import { createMetrics, serveMetrics, type AgentMetrics, type Health } from './metrics.js';
import { preparePinRoot } from './pin-root.js';
import { TunnelModeSwitch } from './mode-switch.js';
import { reconcileDesiredState, type StateReconciler } from './daemon-reconcile.js';
import { ensureTunnelDevice } from './tunnel-device.js';
import { chooseDecapHook, findUplink, type DecapHook, type DecapHookChoice, type UplinkInfo } from './uplink.js';
import { watchManifests, type ManifestWatcher } from './watch.js';

export interface DaemonOptions {
  node: string;
  manifests: readonly string[];
  uplink?: string | undefined;
  pinRoot: string;
  decapHook: DecapHookChoice;
  tunnelDevice: string;
  listen?: string | undefined;
  cleanupOnExit: boolean;
  debounceMs: number;
  /** Full cycle even without a change event (repairs drift); 0: never. */
  resyncMs: number;
  /**
   * A change of the tunnel modes peers use is applied in phases (mode-switch.ts): accept the new
   * modes this long before sending them, then keep accepting the old ones for `peerGraceMs`.
   */
  acceptAheadMs: number;
  peerGraceMs: number;
  log: Logger;
  /** Default: reconcile.ts through daemon-reconcile.ts. */
  reconciler?: StateReconciler;
}

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
  durationMs: number;
}

/** agentd cannot start because its input (manifests, node name) is invalid: exit code 1. */
export class InvalidStartError extends Error {
  override readonly name = 'InvalidStartError';
}

export class Daemon {
  private datapath: Datapath | undefined;
  private watcher: ManifestWatcher | undefined;
  private resync: NodeJS.Timeout | undefined;
  private server: http.Server | undefined;
  private running: Promise<void> | undefined;
  private again: string | undefined;
  private stopping = false;
  private readonly log: Logger;
  private readonly metrics: AgentMetrics;
  private readonly reconciler: StateReconciler;
  private hook: DecapHook | undefined;
  private lastCycle: CycleSummary | undefined;
  private lastError: string | undefined;
  /** The last compiled state applied (before any transitional widening). */
  private previous: DesiredState | undefined;
  private readonly modeSwitch: TunnelModeSwitch;
  private switchTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: DaemonOptions) {
    this.log = opts.log.child({ component: 'daemon' });
    this.metrics = createMetrics(() => this.datapath?.maps.stats);
    this.reconciler = opts.reconciler ?? reconcileDesiredState;
    this.modeSwitch = new TunnelModeSwitch(opts.acceptAheadMs, opts.peerGraceMs);
  }

  get summary(): CycleSummary | undefined {
    return this.lastCycle;
  }

  async start(): Promise<void> {
    const { pinRoot } = this.opts;
    // Refuse before touching anything when the manifests cannot describe this node.
    const model = await this.loadModel();
    if (!model) throw new InvalidStartError(this.lastError ?? 'manifests do not validate');
    if (!model.nodes.some((n) => n.name === this.opts.node)) compileDesiredState(model, this.opts.node); // throws CompileError with suggestions
    const pin = preparePinRoot(pinRoot);
    this.log.info({ pinRoot, bpffs: pin.mount }, 'pin root ready');
    if (pin.warning) this.log.warn(pin.warning);
    this.datapath = loadDatapath(pinRoot, ['tc_encap', 'tc_decap', 'xdp_decap']);
    this.log.info({ programs: Object.keys(this.datapath.programs) }, 'datapath loaded');
    const first = await this.cycle('start');
    if (first.outcome === 'invalid') throw new InvalidStartError(this.lastError ?? 'invalid input');
    if (first.outcome !== 'ok') throw new Error(`the first reconcile failed: ${this.lastError ?? first.outcome}`);
    this.watcher = watchManifests(this.opts.manifests, this.opts.debounceMs, (reason) => this.trigger(reason));
    if (this.opts.resyncMs > 0) {
      this.resync = setInterval(() => this.trigger('resync'), this.opts.resyncMs);
      this.resync.unref();
    }
    if (this.opts.listen) this.server = await serveMetrics(this.opts.listen, this.metrics, () => this.health(), this.opts.log.child({ component: 'metrics' }));
    this.log.info({ node: this.opts.node, decapHook: this.hook, manifests: this.opts.manifests }, 'agentd ready');
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
      });
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
        lastReconcile: this.lastCycle,
        ...(this.lastError ? { lastError: this.lastError } : {}),
      },
    };
  }

  private async loadModel(): Promise<Model | undefined> {
    const result = await loadManifests(this.opts.manifests);
    if (!result.ok) {
      this.lastError = `manifests do not validate:\n${formatDiagnostics(result.errors)}`;
      this.log.error({ errors: result.errors.length }, `manifests do not validate; keeping the current state\n${formatDiagnostics(result.errors).trimEnd()}`);
      return undefined;
    }
    if (result.model.warnings.length > 0) this.log.warn(formatDiagnostics(result.model.warnings).trimEnd());
    return result.model;
  }

  private async cycle(reason: string): Promise<CycleSummary> {
    const started = process.hrtime.bigint();
    const summary: CycleSummary = { reason, outcome: 'ok', changes: 0, stateChanges: 0, device: [], links: [], removedLinks: [], durationMs: 0 };
    try {
      const model = await this.loadModel();
      if (!model) summary.outcome = 'invalid';
      else await this.apply(model, summary);
    } catch (e) {
      summary.outcome = e instanceof CompileError ? 'invalid' : 'error';
      this.lastError = e instanceof CompileError ? formatDiagnostics(e.diagnostics) : e instanceof Error ? e.message : String(e);
      this.log.error({ reason, err: e instanceof CompileError ? undefined : e }, `reconcile failed; keeping the current state: ${this.lastError.trimEnd()}`);
    }
    summary.durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (summary.outcome === 'ok') this.lastError = undefined;
    this.metrics.observeReconcile(summary.outcome, summary.changes, summary.durationMs / 1000);
    this.lastCycle = summary;
    if (summary.outcome === 'ok') this.log.info(summary, 'reconciled');
    return summary;
  }

  private async apply(model: Model, summary: CycleSummary): Promise<void> {
    const local = model.nodes.find((n) => n.name === this.opts.node);
    // compileDesiredState reports an unknown node with suggestions; the uplink needs the address first.
    const uplink = local ? await findUplink(this.opts.uplink, local.address) : undefined;
    const state = compileDesiredState(model, this.opts.node, {
      tunnelDevice: this.opts.tunnelDevice,
      ...(uplink ? { uplinkMtu: uplink.mtu, uplinkDevice: uplink.name, uplinkIfindex: uplink.ifindex, uplinkMac: uplink.mac } : {}),
    });
    if (!uplink) throw new Error('unreachable: compile accepted an unknown node');
    const device = await ensureTunnelDevice(this.opts.tunnelDevice, uplink.mtu);
    summary.device = device.changes;
    const decision = this.modeSwitch.decide(this.previous, state);
    if (decision.phase !== 'steady') this.log.info({ phase: decision.phase, nextInMs: decision.wakeInMs }, 'switching peer tunnel modes');
    const result = await this.reconciler(this.datapath!.maps, decision.apply, { uplink: { ifindex: uplink.ifindex, mac: uplink.mac, mtu: uplink.mtu }, log: this.opts.log });
    this.previous = state;
    summary.phase = decision.phase;
    if (this.switchTimer) clearTimeout(this.switchTimer);
    this.switchTimer = decision.wakeInMs === undefined ? undefined : setTimeout(() => this.trigger(`tunnel switch: ${decision.phase} phase over`), decision.wakeInMs);
    summary.stateChanges = result.changes;
    const links = this.attach(uplink);
    summary.decapHook = this.hook;
    summary.links = links.attachments.map((a) => ({ pin: a.pin.split('/').pop()!, action: a.action, iface: a.iface, point: a.point }));
    summary.removedLinks = links.removed;
    summary.changes = result.changes + device.changes.length + links.attachments.filter((a) => a.action !== 'adopted').length + links.removed.length;
  }

  private attachSpecs(uplink: UplinkInfo, hook: DecapHook): AttachmentSpec[] {
    const p = this.datapath!.programs;
    return [
      { program: p.tc_encap, programName: 'tc_encap', iface: this.opts.tunnelDevice, point: 'tcx-egress' },
      hook === 'xdp'
        ? { program: p.xdp_decap, programName: 'xdp_decap', iface: uplink.name, point: 'xdp' }
        : { program: p.tc_decap, programName: 'tc_decap', iface: uplink.name, point: 'tcx-ingress' },
    ];
  }

  private attach(uplink: UplinkInfo): ReturnType<typeof ensureAttachments> {
    const dir = linksDir(this.opts.pinRoot);
    if (!this.hook) {
      const choice = chooseDecapHook(this.opts.decapHook, uplink);
      this.hook = choice.hook;
      this.log.info({ uplink: uplink.name, kind: uplink.kind ?? 'device', driver: uplink.driver, decapHook: choice.hook, why: choice.reason }, 'decap hook chosen');
    }
    try {
      return ensureAttachments(dir, this.attachSpecs(uplink, this.hook));
    } catch (e) {
      if (this.hook !== 'xdp' || this.opts.decapHook !== 'auto') throw e;
      this.log.warn({ uplink: uplink.name, err: e }, 'native XDP attach failed: falling back to TC decap');
      this.hook = 'tc';
      return ensureAttachments(dir, this.attachSpecs(uplink, this.hook));
    }
  }

  /** Stops watching and serving; leaves the datapath attached unless cleanupOnExit. */
  async stop(signal: string): Promise<CleanupReport | undefined> {
    if (this.stopping) return undefined;
    this.stopping = true;
    this.watcher?.close();
    if (this.resync) clearInterval(this.resync);
    if (this.switchTimer) clearTimeout(this.switchTimer);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.idle();
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

