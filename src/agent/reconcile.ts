/**
 * The reconciler's I/O half: read what the node has (the routes/peers/config maps, burrow's
 * kernel routes, burrow's nft table), plan against the DesiredState (plan.ts, pure), check the
 * plan can be written, then apply it make-before-break:
 *
 *   1 peers add/update   2 config   3 routes add/update (one batch)
 *   4 kernel routes: replace, then delete (one ip -batch)   5 nft table (one atomic transaction)
 *   6 routes delete      7 peers delete
 *
 * so a new tunnel is complete before traffic is steered into it, and traffic stops being
 * steered before a tunnel goes. Nothing is written until the whole desired state has been
 * encoded and checked against the maps' capacity; a model that does not validate never gets
 * here (the caller loads and compiles first). A second run with the same input finds nothing to do.
 *
 * Kernel routes and nft are optional (`{ kernel: false }`): agentctl can drive the maps alone;
 * agentd, inside a node's namespace, does all of it.
 */
import type { Logger } from 'pino';

import {
  burrowConfig,
  burrowPeer,
  burrowPeerKey,
  burrowRoute,
  burrowRouteKey,
  type BurrowConfig,
  type BurrowPeer,
  type BurrowRoute,
  type BurrowRouteKey,
} from '../bpf/index.js';
import type { DesiredState } from '../compile/index.js';
import { applyKernelRoutes, BURROW_ROUTE_PROTO, listKernelRoutes, type KernelRoute } from './kernel-routes.js';
import { routeKeyOf, type RuntimeUplink } from './map-entries.js';
import { applyNat, readNatFingerprints, type NatRule, type TunnelGuard } from './nat.js';
import {
  canonicalRouteKey,
  desiredParts,
  isEmptyPlan,
  isZeroConfig,
  keepRuntimeUplink,
  planChangeCount,
  planReconcile,
  type ActualState,
  type DesiredParts,
  type Plan,
} from './plan.js';

/** What the reconciler needs of a map: BpfMap has it; tests use an in-memory fake. */
export interface ReconcileMap<K, V> {
  readonly info: { readonly maxEntries: number };
  entriesBatch(): [K, V][];
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  setBatch(entries: Iterable<readonly [K, V]>): number;
  deleteBatch(keys: Iterable<K>): number;
}

export interface ReconcileMaps {
  routes: ReconcileMap<BurrowRouteKey, BurrowRoute>;
  peers: ReconcileMap<string, BurrowPeer>;
  config: ReconcileMap<number, BurrowConfig>;
}

/** burrow's kernel state outside the maps: proto-tagged routes and the nft table (tunnel guard, natOutgoing). */
export interface KernelState {
  listRoutes(): Promise<KernelRoute[]>;
  /** Replaces first, then deletes. */
  applyRoutes(replace: readonly KernelRoute[], remove: readonly KernelRoute[]): Promise<void>;
  natFingerprints(): Promise<string[]>;
  /** Makes the table hold exactly `rules` and the guard, atomically (removes it when there are neither). */
  applyNat(rules: readonly NatRule[], guard: TunnelGuard | null): Promise<void>;
}

export const DEFAULT_NAT_TABLE = 'burrow';

/** The kernel of the calling process's network namespace, through ip and nft. */
export function hostKernel(opts: { routeProto?: number; natTable?: string } = {}): KernelState {
  const proto = opts.routeProto ?? BURROW_ROUTE_PROTO;
  const table = opts.natTable ?? DEFAULT_NAT_TABLE;
  return {
    listRoutes: () => listKernelRoutes(proto),
    applyRoutes: (replace, remove) => applyKernelRoutes(replace, remove, proto),
    natFingerprints: () => readNatFingerprints(table),
    applyNat: (rules, guard) => applyNat(table, rules, guard),
  };
}

export interface ReconcileOptions {
  /** Reconcile kernel routes and the nft table too (default true). */
  kernel?: boolean;
  /** The nft table alone (default: as `kernel`). */
  nat?: boolean;
  /** Plan only. */
  dryRun?: boolean;
  /**
   * The uplink's runtime facts for the config entry. Without them (and without an ifindex in the
   * DesiredState) the uplink fields already in the map are kept: manifests do not carry them.
   */
  uplink?: RuntimeUplink;
  /** Default hostKernel(). */
  kernelState?: KernelState;
  log?: Logger;
}

export type ApplyStepName = 'peers.set' | 'config.set' | 'routes.set' | 'routes.delete' | 'peers.delete' | 'kernel-routes' | 'nat';

export interface AppliedStep {
  step: ApplyStepName;
  count: number;
}

export interface ReconcileResult {
  plan: Plan;
  changes: number;
  applied: boolean;
  /** What was written, in order. */
  steps: AppliedStep[];
}

/** The desired state cannot be written (it does not encode, or does not fit the maps). Nothing was. */
export class ReconcileRefusedError extends Error {
  override readonly name = 'ReconcileRefusedError';
}

/** Applying stopped part way (a map or kernel write failed); running again converges. */
export class ReconcileApplyError extends Error {
  override readonly name = 'ReconcileApplyError';
  constructor(
    readonly step: ApplyStepName,
    readonly done: readonly AppliedStep[],
    override readonly cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`reconcile stopped at ${step} after ${done.length} step(s) (${done.map((s) => s.step).join(', ') || 'none'}): ${why}; run it again to converge`);
  }
}

export async function readActualState(
  maps: ReconcileMaps,
  kernel: KernelState | null,
  parts: { kernelRoutes: boolean; nat: boolean },
): Promise<ActualState> {
  const routes = new Map<string, { key: BurrowRouteKey; value: BurrowRoute }>();
  for (const [key, value] of maps.routes.entriesBatch()) {
    const cidr = canonicalRouteKey(key);
    routes.set(cidr, { key: routeKeyOf(cidr), value });
  }
  const peers = new Map(maps.peers.entriesBatch().map(([key, value]) => [key, { key, value }] as const));
  const config = maps.config.get(0);
  return {
    routes,
    peers,
    config: config === undefined || isZeroConfig(config) ? null : config,
    kernelRoutes: parts.kernelRoutes && kernel ? await kernel.listRoutes() : null,
    natFingerprints: parts.nat && kernel ? await kernel.natFingerprints() : null,
  };
}

/** Every value must encode and the desired sets must fit the maps, or nothing is written. */
export function checkWritable(desired: DesiredParts, maps: ReconcileMaps): void {
  // Written into scratch buffers, and the message built only on failure: this runs per entry.
  const scratch = Buffer.alloc(Math.max(burrowRouteKey.size, burrowRoute.size, burrowPeerKey.size, burrowPeer.size, burrowConfig.size));
  const tryEncode = (what: () => string, encode: () => unknown) => {
    try {
      encode();
    } catch (e) {
      throw new ReconcileRefusedError(`${what()} cannot be written to the map: ${e instanceof Error ? e.message : String(e)}; nothing was changed`);
    }
  };
  for (const [cidr, e] of desired.routes) {
    tryEncode(() => `route ${cidr}`, () => (burrowRouteKey.write(e.key, scratch, 0), burrowRoute.write(e.value, scratch, 0)));
  }
  for (const [address, e] of desired.peers) {
    tryEncode(() => `peer ${address}`, () => (burrowPeerKey.write(e.key, scratch, 0), burrowPeer.write(e.value, scratch, 0)));
  }
  tryEncode(() => 'config', () => burrowConfig.write(desired.config, scratch, 0));
  for (const [what, want, max] of [
    ['routes', desired.routes.size, maps.routes.info.maxEntries],
    ['peers', desired.peers.size, maps.peers.info.maxEntries],
  ] as const) {
    if (want > max) {
      throw new ReconcileRefusedError(`${want} ${what} wanted but the ${what} map holds at most ${max}; nothing was changed`);
    }
  }
}

export interface ApplyOptions {
  /** Entries in the maps now (from readActualState): decides whether adds fit before deletes. */
  sizes?: { routes: number; peers: number };
  log?: Logger;
}

/**
 * Writes the plan in make-before-break order. When a map cannot hold the old and the new entries
 * at once, that map's deletes go first (the plan still converges; the log says so).
 */
export async function applyPlan(maps: ReconcileMaps, kernel: KernelState | null, plan: Plan, opts: ApplyOptions = {}): Promise<AppliedStep[]> {
  const { log } = opts;
  const done: AppliedStep[] = [];
  const step = async (name: ApplyStepName, count: number, write: () => unknown): Promise<void> => {
    if (count === 0) return;
    try {
      await write();
    } catch (e) {
      throw new ReconcileApplyError(name, done, e);
    }
    done.push({ step: name, count });
    log?.debug({ step: name, count }, 'applied');
  };
  const { routes, peers, kernelRoutes: k, nat } = plan;
  const peersFirst = opts.sizes !== undefined && opts.sizes.peers + peers.add.length > maps.peers.info.maxEntries;
  const routesFirst = opts.sizes !== undefined && opts.sizes.routes + routes.add.length > maps.routes.info.maxEntries;
  if (peersFirst || routesFirst) log?.warn({ peersFirst, routesFirst }, 'a map is too full for make-before-break: deleting first');

  const deletePeers = () => step('peers.delete', peers.remove.length, () => maps.peers.deleteBatch(peers.remove.map((c) => c.before!.key)));
  const deleteRoutes = () => step('routes.delete', routes.remove.length, () => maps.routes.deleteBatch(routes.remove.map((c) => c.before!.key)));
  const peerSets = [...peers.add, ...peers.update].map((c) => [c.after!.key, c.after!.value] as const);
  const routeSets = [...routes.add, ...routes.update].map((c) => [c.after!.key, c.after!.value] as const);
  const kernelCount = k.add.length + k.update.length + k.remove.length;
  if ((kernelCount > 0 || nat) && !kernel) throw new ReconcileApplyError('kernel-routes', done, new Error('the plan changes kernel state but no kernel was given'));

  if (peersFirst) await deletePeers();
  await step('peers.set', peerSets.length, () => maps.peers.setBatch(peerSets));
  if (plan.config) await step('config.set', 1, () => maps.config.set(0, plan.config!.after));
  if (routesFirst) await deleteRoutes();
  await step('routes.set', routeSets.length, () => maps.routes.setBatch(routeSets));
  await step('kernel-routes', kernelCount, () => kernel!.applyRoutes([...k.add, ...k.update].map((c) => c.after!), k.remove.map((c) => c.before!)));
  if (nat) await step('nat', Math.max(1, nat.add.length + nat.addGuard.length + nat.remove.length), () => kernel!.applyNat(nat.after, nat.guard));
  if (!routesFirst) await deleteRoutes();
  if (!peersFirst) await deletePeers();
  return done;
}

/** Reads, plans and (unless dryRun) applies; see the file comment for the order. */
export async function reconcile(maps: ReconcileMaps, state: DesiredState, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const log = options.log?.child({ component: 'reconcile' });
  const parts = { kernelRoutes: options.kernel ?? true, nat: options.nat ?? options.kernel ?? true };
  const kernel = parts.kernelRoutes || parts.nat ? (options.kernelState ?? hostKernel()) : null;
  const wanted = desiredParts(state, options.uplink);
  const actual = await readActualState(maps, kernel, parts);
  const desired = options.uplink || state.node.uplinkIfindex !== 0 ? wanted : keepRuntimeUplink(wanted, actual.config);
  checkWritable(desired, maps);
  const plan = planReconcile(actual, desired);
  const changes = planChangeCount(plan);
  log?.info({ changes, dryRun: options.dryRun ?? false }, 'planned');
  if (options.dryRun || isEmptyPlan(plan)) return { plan, changes, applied: false, steps: [] };
  const steps = await applyPlan(maps, kernel, plan, { sizes: { routes: actual.routes.size, peers: actual.peers.size }, ...(log ? { log } : {}) });
  log?.info({ changes, steps: steps.length }, 'applied');
  return { plan, changes, applied: true, steps };
}
