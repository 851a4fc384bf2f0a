/**
 * A Plan for people (+ add, ~ update, - remove, one line per change, in the order apply makes
 * them) and for machines (planJson: decoded values, fixed key order). Pure.
 */
import type { BurrowConfig } from '../bpf/index.js';
import type { KeyedChange, KeyedDiff } from './diff.js';
import type { KernelRoute } from './kernel-routes.js';
import { configView, peerView, routeView, type ConfigView, type PeerView, type RouteView } from './map-views.js';
import type { PeerEntry, RouteEntry } from './map-entries.js';
import type { NatRule } from './nat.js';
import { planChangeCount, type Plan, type ReconcilePart } from './plan.js';

// ---- text ----------------------------------------------------------------------------------

function routeSummary(r: RouteView): string {
  // Our own blocks and the pools: entries decap reads, never a tunnel.
  const parts = r.flags.includes('local') ? [r.mode, 'local'] : r.remote === '0.0.0.0' ? [r.mode, 'pool'] : [r.mode, 'via', r.remote];
  if (r.mode === 'vxlan') parts.push('vni', String(r.vni), 'vtep', r.vtepMac);
  return parts.join(' ');
}

function peerSummary(p: PeerView): string {
  const modes = p.modes.join(',') || 'no modes';
  return p.modes.includes('vxlan') ? `${modes} vni ${p.vni}` : modes;
}

function kernelRouteSummary(r: KernelRoute): string {
  const parts: string[] = [];
  if (r.via) parts.push('via', r.via);
  if (r.dev) parts.push('dev', r.dev);
  if (r.onlink) parts.push('onlink');
  if (r.mtu) parts.push('mtu', String(r.mtu));
  if (r.src) parts.push('src', r.src);
  return parts.join(' ');
}

const show = (v: unknown): string => (Array.isArray(v) ? v.join(',') || '-' : v === null || v === undefined || v === '' ? '-' : String(v));

/** "mode ipip → vxlan, vni 0 → 4096" over the fields that differ. */
function fieldChanges<T extends object>(before: T, after: T, names: Partial<Record<keyof T, string>>): string {
  return (Object.keys(names) as (keyof T)[])
    .filter((k) => show(before[k]) !== show(after[k]))
    .map((k) => `${names[k]} ${show(before[k])} → ${show(after[k])}`)
    .join(', ');
}

const ROUTE_FIELDS: Partial<Record<keyof RouteView, string>> = {
  mode: 'mode', remote: 'remote', vni: 'vni', vtepMac: 'vtep', flags: 'flags', pool: 'pool',
};
const PEER_FIELDS: Partial<Record<keyof PeerView, string>> = { modes: 'modes', vni: 'vni' };
const CONFIG_FIELDS: Partial<Record<keyof ConfigView, string>> = {
  localIp: 'local-ip', uplinkIfindex: 'uplink-ifindex', uplinkMac: 'uplink-mac', vtepMac: 'vtep-mac', vxlanPort: 'vxlan-port',
  ttl: 'ttl', defaultVni: 'default-vni', uplinkMtu: 'uplink-mtu', flags: 'flags', mssIpip: 'mss-ipip', mssVxlan: 'mss-vxlan',
  groIfindex: 'gro-ifindex', tunnelMac: 'tunnel-mac',
};
const KERNEL_FIELDS: Partial<Record<keyof KernelRoute, string>> = { via: 'via', dev: 'dev', onlink: 'onlink', mtu: 'mtu', src: 'src' };

const routeOf = (c: KeyedChange<RouteEntry>, side: 'before' | 'after'): RouteView => routeView(c.key, c[side]!.value);
const peerOf = (c: KeyedChange<PeerEntry>, side: 'before' | 'after'): PeerView => peerView(c.key, c[side]!.value);

function routeLines(d: KeyedDiff<RouteEntry>, which: 'make' | 'break'): string[] {
  if (which === 'break') return d.remove.map((c) => `- route ${c.key} ${routeSummary(routeOf(c, 'before'))}`);
  return [
    ...d.add.map((c) => `+ route ${c.key} ${routeSummary(routeOf(c, 'after'))}`),
    ...d.update.map((c) => `~ route ${c.key} ${fieldChanges(routeOf(c, 'before'), routeOf(c, 'after'), ROUTE_FIELDS)}`),
  ];
}

function peerLines(d: KeyedDiff<PeerEntry>, which: 'make' | 'break'): string[] {
  if (which === 'break') return d.remove.map((c) => `- peer ${c.key}`);
  return [
    ...d.add.map((c) => `+ peer ${c.key} ${peerSummary(peerOf(c, 'after'))}`),
    ...d.update.map((c) => `~ peer ${c.key} ${fieldChanges(peerOf(c, 'before'), peerOf(c, 'after'), PEER_FIELDS)}`),
  ];
}

function kernelLines(d: KeyedDiff<KernelRoute>, which: 'make' | 'break'): string[] {
  if (which === 'break') return d.remove.map((c) => `- kernel-route ${c.key} ${kernelRouteSummary(c.before!)}`);
  return [
    ...d.add.map((c) => `+ kernel-route ${c.key} ${kernelRouteSummary(c.after!)}`),
    ...d.update.map((c) => `~ kernel-route ${c.key} ${fieldChanges(c.before!, c.after!, KERNEL_FIELDS)}`),
  ];
}

function configLine(plan: Plan): string[] {
  const c = plan.config;
  if (!c) return [];
  const after = configView(c.after);
  if (c.before === null) {
    const all = (Object.keys(CONFIG_FIELDS) as (keyof ConfigView)[]).map((k) => `${CONFIG_FIELDS[k]} ${show(after[k])}`);
    return [`+ config ${all.join(', ')}`];
  }
  return [`~ config ${fieldChanges(configView(c.before), after, CONFIG_FIELDS)}`];
}

export function natRuleText(r: NatRule): string {
  const except = r.excludeDestinations.length ? ` except ${[...r.excludeDestinations].sort().join(',')}` : '';
  return `masquerade ${r.sourceCidr}${except}`;
}

function natLines(plan: Plan): string[] {
  if (!plan.nat) return [];
  return [
    ...plan.nat.addGuard.map((fp) => `+ nat ${fp} (drop forwarded tunnel packets: from workloads)`),
    ...plan.nat.add.map((r) => `+ nat ${natRuleText(r)}`),
    ...plan.nat.remove.map((fp) => `- nat ${fp}`),
  ];
}

const PART_NAMES: Record<ReconcilePart, string> = {
  routes: 'routes', peers: 'peers', config: 'config', kernelRoutes: 'kernel routes', nat: 'nat',
};

/** One line per change, in the order apply makes them (adds and updates before deletes). */
export function planLines(plan: Plan): string[] {
  return [
    ...peerLines(plan.peers, 'make'),
    ...configLine(plan),
    ...routeLines(plan.routes, 'make'),
    ...kernelLines(plan.kernelRoutes, 'make'),
    ...natLines(plan),
    ...kernelLines(plan.kernelRoutes, 'break'),
    ...routeLines(plan.routes, 'break'),
    ...peerLines(plan.peers, 'break'),
  ];
}

export function planSummary(plan: Plan): string {
  const n = planChangeCount(plan);
  const skipped = plan.skipped.length ? ` (not compared: ${plan.skipped.map((p) => PART_NAMES[p]).join(', ')})` : '';
  return `${n === 0 ? 'no changes' : `${n} change${n === 1 ? '' : 's'}`}${skipped}`;
}

export function renderPlanText(plan: Plan): string {
  return [...planLines(plan), planSummary(plan)].join('\n') + '\n';
}

// ---- JSON ----------------------------------------------------------------------------------

export interface KeyedDiffJson<V> {
  add: V[];
  update: { key: string; before: V; after: V; fields: string[] }[];
  remove: V[];
}

export interface PlanJson {
  changes: number;
  skipped: ReconcilePart[];
  routes: KeyedDiffJson<RouteView>;
  peers: KeyedDiffJson<PeerView>;
  config: { before: ConfigView | null; after: ConfigView; fields: string[] } | null;
  kernelRoutes: KeyedDiffJson<KernelRoute>;
  nat: { before: string[]; after: NatRule[]; guard: { vxlanPort: number }; add: NatRule[]; addGuard: string[]; remove: string[] } | null;
}

function diffJson<E, V extends object>(d: KeyedDiff<E>, view: (key: string, e: E) => V, names: Partial<Record<keyof V, string>>): KeyedDiffJson<V> {
  return {
    add: d.add.map((c) => view(c.key, c.after!)),
    update: d.update.map((c) => {
      const before = view(c.key, c.before!);
      const after = view(c.key, c.after!);
      const fields = (Object.keys(names) as (keyof V & string)[]).filter((k) => show(before[k]) !== show(after[k]));
      return { key: c.key, before, after, fields };
    }),
    remove: d.remove.map((c) => view(c.key, c.before!)),
  };
}

const CONFIG_VIEW_NAME: Record<keyof BurrowConfig, keyof ConfigView> = {
  local_ip: 'localIp', uplink_ifindex: 'uplinkIfindex', uplink_mac: 'uplinkMac', vtep_mac: 'vtepMac', vxlan_port: 'vxlanPort',
  ttl: 'ttl', default_vni: 'defaultVni', uplink_mtu: 'uplinkMtu', flags: 'flags', mss_ipip: 'mssIpip', mss_vxlan: 'mssVxlan',
  gro_ifindex: 'groIfindex', tunnel_mac: 'tunnelMac',
};

export function planJson(plan: Plan): PlanJson {
  const routeOfEntry = (key: string, e: RouteEntry): RouteView => routeView(key, e.value);
  const peerOfEntry = (key: string, e: PeerEntry): PeerView => peerView(key, e.value);
  return {
    changes: planChangeCount(plan),
    skipped: [...plan.skipped],
    routes: diffJson(plan.routes, routeOfEntry, ROUTE_FIELDS),
    peers: diffJson(plan.peers, peerOfEntry, PEER_FIELDS),
    config: plan.config && {
      before: plan.config.before && configView(plan.config.before),
      after: configView(plan.config.after),
      fields: plan.config.fields.map((f) => CONFIG_VIEW_NAME[f]),
    },
    kernelRoutes: diffJson(plan.kernelRoutes, (_k, r: KernelRoute) => ({ ...r }), KERNEL_FIELDS),
    nat: plan.nat && {
      before: [...plan.nat.before],
      after: plan.nat.after.map((r) => ({ sourceCidr: r.sourceCidr, excludeDestinations: [...r.excludeDestinations] })),
      guard: { vxlanPort: plan.nat.guard.vxlanPort },
      add: plan.nat.add.map((r) => ({ sourceCidr: r.sourceCidr, excludeDestinations: [...r.excludeDestinations] })),
      addGuard: [...plan.nat.addGuard],
      remove: [...plan.nat.remove],
    },
  };
}
