/**
 * Next hops (docs/datapath.md, "Next hops"): agentd keeps, per peer, how the kernel would send the
 * outer packet — the device of its route to the peer, the MAC of that route's next hop (the peer
 * itself or a gateway) from the neighbour table, the device's MAC and MTU — in the `nexthops`
 * map, so that tc_encap and xdp_encap write the outer Ethernet header themselves instead of
 * asking the kernel for a route and a neighbour per packet (bpf_redirect_neigh, bpf_fib_lookup).
 *
 *   peers        the derived peers (every node that is a tunnel endpoint)
 *   routes       `ip route get <peer> from <local>`, one `ip -batch` for all new peers; again for
 *                all on a route or link event and every periodMs
 *   neighbours   one dump per route or peer pass. A next hop is made a *managed* neighbour (NTF_EXT_MANAGED,
 *                5.16+, protocol 211): the kernel resolves it at once, before any traffic, and
 *                keeps re-validating it although no packet of ours goes through the neighbour
 *                table any more — so a next hop whose MAC changes is noticed as the kernel would
 *                notice it, and the change arrives here as a neighbour event. Permanent entries
 *                (static ARP) are used as they are and never touched. At most half of the kernel's
 *                neighbour table limit are made managed; next hops that never resolve rest.
 *   the map      an entry only while the neighbour has a MAC in a usable state; otherwise none,
 *                and the programs ask the kernel as before (the first packets to a new peer are
 *                never lost: bpf_redirect_neigh queues them while the kernel resolves)
 *   events       `ip -o monitor neigh route link`: a neighbour event on a next hop in use updates
 *                the neighbour view and replans only the peers behind it; a route or link event
 *                looks the routes up again (at most once per second)
 *   cleanup      managed neighbours of protocol 211 that no peer uses are deleted; all of them
 *                when agentd cleans up (removeManagedNeighbours)
 */
import { readFile } from 'node:fs/promises';

import type { Logger } from 'pino';

import type { BurrowNexthop } from '../bpf/index.js';
import type { DatapathMaps } from './datapath.js';
import { run } from './exec.js';
import { MonitorChild } from './monitor-child.js';

/** The neighbour protocol of the next hops agentd made managed (its routes' number too). */
export const NEIGH_PROTO = 211;
export const DEFAULT_NEXTHOP_PERIOD_MS = 30_000;
/** Route and link events look the routes up again at most this often. */
const ROUTE_EVENT_MIN_MS = 1000;
/** Neighbour events are gathered this long into one neighbours pass. */
const NEIGH_EVENT_DEBOUNCE_MS = 20;

/** `ip route get <peer>`: what matters of the answer. */
export interface RouteToPeer {
  type: string;
  dev: string;
  gateway?: string;
  /** The route's own MTU metric (not a learned path MTU exception). */
  mtu?: number;
}

export interface LinkFacts {
  ifindex: number;
  /** The device's MAC; absent on a device without an Ethernet address. */
  mac?: string;
  mtu: number;
}

export interface NeighbourFacts {
  lladdr?: string;
  states: string[];
  managed: boolean;
  protocol?: string;
}

/** Neighbour states whose MAC the kernel itself would send to. */
const USABLE = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);
const ETHER = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function jsonArrays(out: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const line of out.split('\n')) {
    const text = line.trim();
    if (!text) continue;
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed)) rows.push(...(parsed as Record<string, unknown>[]));
  }
  return rows;
}

/** `ip -j -d -batch` of `route get` lines: one JSON array per line that succeeded, keyed by its dst. */
export function parseRouteGets(out: string): Map<string, RouteToPeer> {
  const routes = new Map<string, RouteToPeer>();
  for (const r of jsonArrays(out)) {
    if (typeof r['dst'] !== 'string' || typeof r['dev'] !== 'string') continue;
    const route: RouteToPeer = { type: typeof r['type'] === 'string' ? r['type'] : 'unicast', dev: r['dev'] };
    if (typeof r['gateway'] === 'string') route.gateway = r['gateway'];
    // A learned PMTU exception shows in `cache` with the same metric: only the route's own counts.
    const cached = Array.isArray(r['cache']) && r['cache'].length > 0;
    const metrics = Array.isArray(r['metrics']) ? (r['metrics'] as Record<string, unknown>[]) : [];
    const mtu = metrics.map((m) => m['mtu']).find((v): v is number => typeof v === 'number');
    if (mtu !== undefined && !cached) route.mtu = mtu;
    routes.set(r['dst'], route);
  }
  return routes;
}

/** `ip -j link show`, by name. */
export function parseLinks(out: string): Map<string, LinkFacts> {
  const links = new Map<string, LinkFacts>();
  for (const l of jsonArrays(out)) {
    if (typeof l['ifname'] !== 'string' || typeof l['ifindex'] !== 'number') continue;
    const facts: LinkFacts = { ifindex: l['ifindex'], mtu: typeof l['mtu'] === 'number' ? l['mtu'] : 0 };
    if (l['link_type'] === 'ether' && typeof l['address'] === 'string' && ETHER.test(l['address'])) facts.mac = l['address'];
    links.set(l['ifname'], facts);
  }
  return links;
}

export const neighbourKey = (dev: string, address: string): string => `${dev} ${address}`;

/** `ip -j -d -4 neigh show`, by neighbourKey(dev, address). */
export function parseNeighbours(out: string): Map<string, NeighbourFacts> {
  const neighbours = new Map<string, NeighbourFacts>();
  for (const n of jsonArrays(out)) {
    if (typeof n['dst'] !== 'string' || typeof n['dev'] !== 'string') continue;
    const facts: NeighbourFacts = {
      states: Array.isArray(n['state']) ? (n['state'] as unknown[]).filter((s): s is string => typeof s === 'string') : [],
      managed: 'managed' in n,
    };
    if (typeof n['lladdr'] === 'string' && ETHER.test(n['lladdr'])) facts.lladdr = n['lladdr'];
    if (n['protocol'] !== undefined) facts.protocol = String(n['protocol']);
    neighbours.set(neighbourKey(n['dev'], n['dst']), facts);
  }
  return neighbours;
}

export interface NexthopPlan {
  /** peer → the map's value. */
  entries: Map<string, BurrowNexthop>;
  /** Next hops to make managed neighbours (neither managed nor permanent yet). */
  manage: { address: string; dev: string }[];
  /** Next hops in use (neighbourKey), managed or not. */
  used: Set<string>;
  /** Why each peer without an entry has none. */
  waiting: Map<string, string>;
  /** peer → the neighbourKey of its next hop (peers with a usable route only). */
  hops: Map<string, string>;
}

/**
 * The map's entries from the kernel's answers (pure). `exclude`: devices a next hop must not be
 * on (the tunnel device and its peer: a peer routed into the tunnel is left to the kernel path,
 * which tc_encap then sees as recursion).
 */
export function planNexthops(
  peers: Iterable<string>, routes: ReadonlyMap<string, RouteToPeer | null>, links: ReadonlyMap<string, LinkFacts>,
  neighbours: ReadonlyMap<string, NeighbourFacts>, exclude: ReadonlySet<string>,
): NexthopPlan {
  const plan: NexthopPlan = { entries: new Map(), manage: [], used: new Set(), waiting: new Map(), hops: new Map() };
  for (const peer of peers) {
    const route = routes.get(peer);
    if (!route) {
      plan.waiting.set(peer, 'no route');
      continue;
    }
    if (route.type !== 'unicast') {
      plan.waiting.set(peer, `a ${route.type} route`);
      continue;
    }
    if (exclude.has(route.dev)) {
      plan.waiting.set(peer, `routed into ${route.dev}`);
      continue;
    }
    const link = links.get(route.dev);
    if (!link?.mac) {
      plan.waiting.set(peer, `${route.dev} has no Ethernet address`);
      continue;
    }
    const via = route.gateway ?? peer;
    const key = neighbourKey(route.dev, via);
    const n = neighbours.get(key);
    plan.hops.set(peer, key);
    const permanent = n !== undefined && (n.states.includes('PERMANENT') || n.states.includes('NOARP'));
    if (!plan.used.has(key) && !permanent && !n?.managed) plan.manage.push({ address: via, dev: route.dev });
    plan.used.add(key);
    if (!n?.lladdr || !n.states.some((s) => USABLE.has(s))) {
      plan.waiting.set(peer, `neighbour ${via} on ${route.dev} ${n ? (n.states.join(',') || 'NONE').toLowerCase() : 'unknown'}`);
      continue;
    }
    plan.entries.set(peer, { ifindex: link.ifindex, dmac: n.lladdr, smac: link.mac, mtu: Math.min(0xffff, route.mtu ?? link.mtu) });
  }
  return plan;
}

/**
 * What an `ip -o monitor label neigh route link` line means here: a neighbour change, a route or
 * link change that may move a peer's route, or nothing (IPv6, the local table, burrow's own
 * routes of protocol 211 and 212: they are about pod addresses, never a node's).
 */
export function eventKind(line: string): 'neighbour' | 'route' | undefined {
  const label = /^\[(NEIGH|ROUTE|LINK)\](?:Deleted |Miss )?(.*)$/.exec(line);
  if (!label) return undefined;
  const [, kind, rest = ''] = label;
  if (kind === 'LINK') return 'route';
  if (kind === 'NEIGH') return (rest.split(' ')[0] ?? '').includes(':') ? undefined : 'neighbour';
  if (/ table local\b/.test(rest) || / proto (211|212)\b/.test(rest)) return undefined;
  const dst = rest.replace(/^((unicast|blackhole|unreachable|prohibit|local|broadcast|multicast) )*/, '').split(' ')[0] ?? '';
  return dst.includes(':') ? undefined : 'route';
}

/**
 * A neighbour event line (`ip -o monitor label neigh`): its neighbourKey and what the neighbour is
 * now (null: deleted). `[NEIGH]10.0.0.2 dev eth0 lladdr 02:… managed REACHABLE proto 211`;
 * `[NEIGH]Deleted 10.0.0.2 dev eth0 FAILED`. Undefined for anything else (IPv6, Miss, routes).
 */
export function parseNeighbourEvent(line: string): { key: string; facts: NeighbourFacts | null } | undefined {
  const m = /^\[NEIGH\](Deleted |Miss )?(\S+) dev (\S+)(.*)$/.exec(line.trimEnd());
  if (!m || m[1] === 'Miss ' || m[2]!.includes(':')) return undefined;
  const key = neighbourKey(m[3]!, m[2]!);
  if (m[1] === 'Deleted ') return { key, facts: null };
  const words = (m[4] ?? '').trim().split(/\s+/).filter(Boolean);
  const facts: NeighbourFacts = { states: [], managed: false };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'lladdr' && ETHER.test(words[i + 1] ?? '')) facts.lladdr = words[++i]!;
    else if (w === 'proto' && words[i + 1] !== undefined) facts.protocol = words[++i]!;
    else if (w === 'managed') facts.managed = true;
    else if (/^[A-Z]+$/.test(w)) facts.states.push(w);
  }
  return { key, facts };
}

/** A neighbour whose MAC the kernel itself would send to. */
export const isUsable = (n: NeighbourFacts | undefined): boolean => n?.lladdr !== undefined && n.states.some((s) => USABLE.has(s));

/**
 * Which next hops to make managed now, at most `room` of them: first those the kernel has already
 * resolved (traffic flows to them), then the rest in the plan's order; next hops resting after
 * they never resolved (NexthopKeeper: a node down) wait for their time unless they resolved since.
 */
export function chooseManaged(
  candidates: readonly { address: string; dev: string }[], neighbours: ReadonlyMap<string, NeighbourFacts>,
  room: number, resting: ReadonlyMap<string, { until: number }>, now: number,
): { address: string; dev: string }[] {
  const ready: { address: string; dev: string }[] = [];
  const rest: { address: string; dev: string }[] = [];
  for (const h of candidates) {
    const key = neighbourKey(h.dev, h.address);
    if (isUsable(neighbours.get(key))) ready.push(h);
    else if ((resting.get(key)?.until ?? 0) <= now) rest.push(h);
  }
  return [...ready, ...rest].slice(0, Math.max(0, room));
}

/**
 * How many managed neighbours agentd makes at most: half the kernel's neighbour table limit
 * (gc_thresh3, one table for every namespace of the host), so that the host's own neighbours
 * always fit; managed entries are never garbage-collected. 1024 when the sysctl cannot be read
 * (it exists in the initial namespace only).
 */
export async function defaultManagedBudget(): Promise<number> {
  const limit = await readFile('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8').then((t) => Number.parseInt(t, 10), () => 1024);
  return Math.floor((Number.isFinite(limit) && limit > 0 ? limit : 1024) / 2);
}

const sameNexthop = (a: BurrowNexthop, b: BurrowNexthop): boolean =>
  a.ifindex === b.ifindex && a.dmac === b.dmac && a.smac === b.smac && a.mtu === b.mtu;

/** A managed neighbour agentd made (protocol 211). */
const isOurs = (n: NeighbourFacts): boolean => n.managed && n.protocol === String(NEIGH_PROTO);

/** Deletes every managed neighbour of protocol 211 (agentd's cleanup); returns how many. */
export async function removeManagedNeighbours(): Promise<number> {
  const ours = [...parseNeighbours(await run(['ip', '-j', '-d', '-4', 'neigh', 'show']))]
    .filter(([, n]) => isOurs(n));
  if (ours.length === 0) return 0;
  await deleteNeighbours(ours.map(([key]) => key));
  return ours.length;
}

/** Deletes neighbours by neighbourKey, one `ip -batch` (entries gone already are no error). */
async function deleteNeighbours(keys: readonly string[]): Promise<void> {
  const lines = keys.map((key) => {
    const [dev, address] = key.split(' ');
    return `neigh del ${address} dev ${dev}`;
  });
  await run(['ip', '-force', '-batch', '-'], { input: lines.join('\n') + '\n', okExitCodes: [1] });
}

export interface NexthopKeeperOptions {
  maps: () => DatapathMaps | undefined;
  /** Peers now (the derived ones). */
  peers: () => ReadonlySet<string>;
  /** The outer source (cfg.local_ip) for the route lookups; undefined: none given. */
  local: () => string | undefined;
  /** Devices a next hop may not be on (the tunnel device and its peer). */
  exclude: readonly string[];
  log: Logger;
  /** Every periodMs the routes are looked up again whatever happened; default 30 s. */
  periodMs?: number;
  /** Follow `ip monitor` events (default true; false: the period and peer changes only). */
  watch?: boolean;
  /** Managed neighbours made at most (default: defaultManagedBudget()). */
  managedBudget?: number;
}

type PassKind = 'neighbours' | 'peers' | 'routes';
const RANK: Record<PassKind, number> = { neighbours: 0, peers: 1, routes: 2 };
/** A managed next hop still unresolved this long (seen at route passes) is deleted and rests. */
const UNRESOLVED_MS = 25_000;
const REST_FIRST_MS = 60_000;
const REST_MAX_MS = 600_000;

/**
 * Passes. A *routes* pass (start, every periodMs, route/link events) looks every peer's route up;
 * a *peers* pass only the new peers'; both then read the links and dump the neighbour table and
 * plan every peer. A *neighbours* pass is what a neighbour event costs: the events have already
 * updated the neighbour view, and only the peers behind the next hops they named are planned and
 * written — no child process, no dump (at 5,000 peers on one segment the kernel re-probes every
 * unresolved managed neighbour every few seconds, an event each).
 *
 * Next hops that never resolve (a node down) are deleted when route passes have seen them unresolved for UNRESOLVED_MS and
 * rest (1 min, doubling to 10 min) before they are made managed again: they would hold neighbour
 * table slots and send ARP requests for nothing; a peer without an entry still works (the kernel's
 * way resolves on traffic). At most managedBudget managed neighbours exist at once.
 */
export class NexthopKeeper {
  private readonly routes = new Map<string, RouteToPeer | null>();
  private readonly exclude: ReadonlySet<string>;
  private monitor: MonitorChild | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending: { kind: PassKind; timer: NodeJS.Timeout } | undefined;
  private running: Promise<void> | undefined;
  private again: PassKind | undefined;
  private lastRoutes = 0;
  private stopped = false;
  private managedRefused = false;
  private lastWaiting = '';
  private peersKey = '';
  private budget: number | undefined;
  private budgetSaid = false;
  /** The last links read and the neighbour view (the last dump, then every event since). */
  private links = new Map<string, LinkFacts>();
  private neighbours = new Map<string, NeighbourFacts>();
  /** Events that arrive while a dump is under way (applied over it). */
  private eventsDuringDump: Map<string, NeighbourFacts | null> | undefined;
  /** neighbourKey → peers whose next hop it is; keys that events named since the last plan. */
  private hopPeers = new Map<string, string[]>();
  private dirty = new Set<string>();
  /** What the map holds (as written by this keeper since its last full pass). */
  private written = new Map<string, BurrowNexthop>();
  /** Managed next hops unresolved at the last route pass: since when. */
  private unresolved = new Map<string, number>();
  private readonly resting = new Map<string, { until: number; ms: number }>();

  constructor(private readonly opts: NexthopKeeperOptions) {
    this.exclude = new Set(opts.exclude);
    this.budget = opts.managedBudget;
  }

  start(): void {
    if (this.opts.watch ?? true) {
      this.monitor = new MonitorChild({
        command: ['ip', '-o', 'monitor', 'label', 'neigh', 'route', 'link'],
        log: this.opts.log,
        gap: 'next hops follow peer changes and the periodic pass only',
        onLine: (line) => this.onEvent(line),
      });
      this.monitor.start();
    }
    this.timer = setInterval(() => this.trigger('routes'), this.opts.periodMs ?? DEFAULT_NEXTHOP_PERIOD_MS);
    this.timer.unref();
    this.trigger('routes', 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.monitor?.stop();
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
    await this.running;
  }

  /** After a reconcile cycle: when the peer set changed, the new peers' routes are looked up. */
  peersChanged(): void {
    const peers = this.opts.peers();
    let key = String(peers.size);
    for (const p of peers) key += ` ${p}`;
    if (key === this.peersKey) return;
    this.peersKey = key;
    this.trigger('peers', 0);
  }

  /** One `ip -o monitor label` line: `[NEIGH]…`, `[ROUTE]…` or `[LINK]…`. */
  private onEvent(line: string): void {
    const kind = eventKind(line);
    if (kind === 'neighbour') {
      const event = parseNeighbourEvent(line);
      if (!event) return;
      this.eventsDuringDump?.set(event.key, event.facts);
      if (!this.hopPeers.has(event.key)) return;
      if (event.facts) this.neighbours.set(event.key, event.facts);
      else this.neighbours.delete(event.key);
      this.dirty.add(event.key);
      this.trigger('neighbours');
    } else if (kind === 'route') {
      this.trigger('routes', Math.max(NEIGH_EVENT_DEBOUNCE_MS, this.lastRoutes + ROUTE_EVENT_MIN_MS - Date.now()));
    }
  }

  private trigger(kind: PassKind, delayMs = NEIGH_EVENT_DEBOUNCE_MS): void {
    if (this.stopped) return;
    if (this.pending) {
      if (RANK[kind] > RANK[this.pending.kind]) this.pending.kind = kind;
      return;
    }
    const timer = setTimeout(() => {
      const p = this.pending!;
      this.pending = undefined;
      this.launch(p.kind);
    }, Math.max(0, delayMs));
    timer.unref();
    this.pending = { kind, timer };
  }

  private launch(kind: PassKind): void {
    if (this.running) {
      if (this.again === undefined || RANK[kind] > RANK[this.again]) this.again = kind;
      return;
    }
    this.running = this.pass(kind)
      .then(() => undefined)
      .catch((e: unknown) => this.opts.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'next hop pass failed; the programs ask the kernel for the peers without an entry'))
      .finally(() => {
        this.running = undefined;
        const again = this.again;
        this.again = undefined;
        if (again !== undefined && !this.stopped) this.launch(again);
      });
  }

  /** One pass (see the class comment); returns its plan (a neighbours pass: of the peers it planned). */
  async pass(kind: PassKind = 'routes'): Promise<NexthopPlan | undefined> {
    const maps = this.opts.maps();
    if (!maps) return undefined;
    this.budget ??= await defaultManagedBudget();
    if (kind === 'neighbours') return this.neighbourPass(maps);
    const peers = this.opts.peers();
    for (const peer of this.routes.keys()) if (!peers.has(peer)) this.routes.delete(peer);
    const ask = kind === 'routes' ? [...peers] : [...peers].filter((p) => !this.routes.has(p));
    if (kind === 'routes') this.lastRoutes = Date.now();
    if (ask.length > 0) {
      const local = this.opts.local();
      const lines = ask.map((p) => `route get ${p}${local ? ` from ${local}` : ''}`).join('\n') + '\n';
      const found = parseRouteGets(await run(['ip', '-j', '-d', '-force', '-batch', '-'], { input: lines, okExitCodes: [1] }));
      for (const p of ask) this.routes.set(p, found.get(p) ?? null);
    }
    this.eventsDuringDump = new Map();
    const [links, neighbours] = await Promise.all([
      run(['ip', '-j', 'link', 'show']).then(parseLinks),
      run(['ip', '-j', '-d', '-4', 'neigh', 'show']).then(parseNeighbours),
    ]);
    for (const [key, facts] of this.eventsDuringDump) {
      if (facts) neighbours.set(key, facts);
      else neighbours.delete(key);
    }
    this.eventsDuringDump = undefined;
    if (this.stopped) return undefined;
    this.links = links;
    this.neighbours = neighbours;
    let plan = planNexthops(peers, this.routes, links, neighbours, this.exclude);
    this.hopPeers = new Map();
    for (const [peer, key] of plan.hops) {
      const list = this.hopPeers.get(key);
      if (list) list.push(peer);
      else this.hopPeers.set(key, [peer]);
    }
    this.dirty.clear();
    if (kind === 'routes' && (await this.rest(plan))) plan = planNexthops(peers, this.routes, links, this.neighbours, this.exclude);
    // After a refusal (a kernel before 5.16; a full neighbour table) only route passes try again.
    if (plan.manage.length > 0 && (kind === 'routes' || !this.managedRefused)) await this.manage(plan.manage);
    this.written = new Map(maps.nexthops.entriesBatch());
    this.write(maps, plan, 'all');
    // Managed neighbours of ours that no peer uses any more.
    const unused = [...neighbours].filter(([key, n]) => isOurs(n) && !plan.used.has(key)).map(([key]) => key);
    if (unused.length > 0) {
      await deleteNeighbours(unused);
      for (const key of unused) this.neighbours.delete(key);
    }
    this.sayWaiting(plan);
    return plan;
  }

  /** Plans and writes only the peers behind the next hops that events named. */
  private async neighbourPass(maps: DatapathMaps): Promise<NexthopPlan> {
    const peers = this.opts.peers();
    const affected: string[] = [];
    for (const key of this.dirty) for (const peer of this.hopPeers.get(key) ?? []) if (peers.has(peer)) affected.push(peer);
    this.dirty.clear();
    const plan = planNexthops(affected, this.routes, this.links, this.neighbours, this.exclude);
    if (plan.manage.length > 0 && !this.managedRefused) await this.manage(plan.manage);
    this.write(maps, plan, affected);
    return plan;
  }

  /**
   * Route passes: our managed next hops unresolved for UNRESOLVED_MS at every route pass are
   * deleted and rest; a next hop that resolved stops resting. True when any was deleted.
   */
  private async rest(plan: NexthopPlan): Promise<boolean> {
    const now = Date.now();
    const unresolved = new Map<string, number>();
    const retire: string[] = [];
    for (const key of plan.used) {
      const n = this.neighbours.get(key);
      if (isUsable(n)) {
        this.resting.delete(key);
        continue;
      }
      if (!n || !isOurs(n)) continue;
      const since = this.unresolved.get(key) ?? now;
      if (now - since < UNRESOLVED_MS) {
        unresolved.set(key, since);
        continue;
      }
      const ms = Math.min(REST_MAX_MS, (this.resting.get(key)?.ms ?? REST_FIRST_MS / 2) * 2);
      this.resting.set(key, { until: now + ms, ms });
      retire.push(key);
    }
    for (const key of this.resting.keys()) if (!plan.used.has(key)) this.resting.delete(key);
    this.unresolved = unresolved;
    if (retire.length === 0) return false;
    await deleteNeighbours(retire);
    for (const key of retire) this.neighbours.delete(key);
    this.opts.log.info({ count: retire.length, resting: this.resting.size, sample: retire.slice(0, 5) }, 'next hops that never resolved rest (their managed neighbours deleted; the kernel resolves them on traffic)');
    return true;
  }

  /**
   * Makes next hops managed neighbours, within the budget. `replace` keeps an entry's MAC and
   * state; a kernel before 5.16 refuses the flag, and entries then last while the kernel keeps
   * the neighbour on its own (the first packets through bpf_redirect_neigh resolve it): said once.
   */
  private async manage(candidates: readonly { address: string; dev: string }[]): Promise<void> {
    let ours = 0;
    for (const n of this.neighbours.values()) if (isOurs(n)) ours++;
    const room = (this.budget ?? 0) - ours;
    const hops = chooseManaged(candidates, this.neighbours, room, this.resting, Date.now());
    if (hops.length < candidates.length && room < candidates.length && !this.budgetSaid) {
      this.budgetSaid = true;
      this.opts.log.warn({ budget: this.budget, managed: ours }, 'more next hops than managed neighbours allowed (half of net.ipv4.neigh.default.gc_thresh3): the rest use the kernel\'s own neighbour entries, made by traffic');
    }
    if (hops.length === 0) return;
    const input = hops.map((h) => `neigh replace ${h.address} dev ${h.dev} managed protocol ${NEIGH_PROTO}`).join('\n') + '\n';
    try {
      // -force: one refusal does not hold back the rest; ip still exits 1 when any line failed.
      await run(['ip', '-force', '-batch', '-'], { input });
      this.managedRefused = false;
    } catch (e) {
      if (!this.managedRefused) this.opts.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'a next hop could not be made a managed neighbour: it is resolved by traffic, not ahead of it');
      this.managedRefused = true;
    }
    // Count them as ours now (the kernel says nothing of an entry made INCOMPLETE).
    for (const h of hops) {
      const key = neighbourKey(h.dev, h.address);
      const n = this.neighbours.get(key);
      this.neighbours.set(key, { states: n?.states ?? ['INCOMPLETE'], managed: true, protocol: String(NEIGH_PROTO), ...(n?.lladdr ? { lladdr: n.lladdr } : {}) });
    }
  }

  /** Writes the plan's entries: for `peers` (a neighbours pass), or for every peer held or planned. */
  private write(maps: DatapathMaps, plan: NexthopPlan, peers: Iterable<string> | 'all'): void {
    const consider = peers === 'all' ? new Set([...this.written.keys(), ...plan.entries.keys()]) : peers;
    let changed = 0;
    for (const peer of consider) {
      const value = plan.entries.get(peer);
      const held = this.written.get(peer);
      if (value) {
        if (held && sameNexthop(held, value)) continue;
        maps.nexthops.set(peer, value);
        this.written.set(peer, value);
        this.opts.log.debug({ peer, ...value }, held ? 'next hop changed' : 'next hop added');
      } else {
        if (!held) continue;
        maps.nexthops.delete(peer);
        this.written.delete(peer);
        this.opts.log.debug({ peer }, 'next hop removed');
      }
      changed++;
    }
    if (changed > 0) this.opts.log.debug({ changed, entries: this.written.size }, 'nexthops map written');
  }

  private sayWaiting(plan: NexthopPlan): void {
    const waiting = JSON.stringify([...plan.waiting].sort());
    if (waiting === this.lastWaiting) return;
    this.lastWaiting = waiting;
    if (plan.waiting.size > 0) this.opts.log.info({ entries: plan.entries.size, waiting: Object.fromEntries([...plan.waiting].slice(0, 20)), waitingCount: plan.waiting.size }, 'next hops: some peers go the kernel\'s way for now');
    else this.opts.log.info({ entries: plan.entries.size }, 'next hops: every peer has one');
  }
}
