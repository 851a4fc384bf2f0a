/**
 * agentctl's views, together: what each command reads (the pinned maps, attachments, agentd's
 * /healthz) into plain objects, the shapes of those objects (which are the `-o json` output), and
 * their table renderings. Commands only parse and wire options and hand results here; output.ts
 * renders the tables and JSON.
 */
import fs from 'node:fs';
import path from 'node:path';

import { DATAPATH_PROGRAMS, MAP_NAMES, NoDatapathError, openDatapathMaps, type DatapathMaps, type DatapathProgramName } from '../agent/datapath.js';
import {
  cidrOf,
  configView,
  counterView,
  peerView,
  routeView,
  type ConfigView,
  type CounterView,
  type PeerView,
  type RouteView,
} from '../agent/map-views.js';
import { parseListen } from '../agent/metrics.js';
import { isZeroConfig } from '../agent/plan.js';
import { ifindexOf, ifnameOf, listAttached, openLinkPin, tcAttachKind, TcAction, XdpAction, type AttachedPrograms } from '../bpf/index.js';
import { ipv4ToNumber } from '../codec/address.js';
import type { DesiredState } from '../compile/index.js';
import type { ConfigDiagnostic, LoadResult } from '../config/index.js';
import { layerLine, type Layer } from './frame-view.js';
import { renderTable } from './output.js';
import type { CounterDelta, IngressSender } from './trace-packet.js';

// ---- validate -----------------------------------------------------------------------------------

/** `agentctl validate -o json`. */
export type ValidateView =
  | { valid: true; errors: []; warnings: readonly ConfigDiagnostic[]; pools: number; nodes: number; blocks: number }
  | { valid: false; errors: readonly ConfigDiagnostic[]; warnings: readonly ConfigDiagnostic[] };

export function validateView(result: LoadResult): ValidateView {
  return result.ok
    ? { valid: true, errors: [], warnings: result.model.warnings, pools: result.model.pools.length, nodes: result.model.nodes.length, blocks: result.model.blocks.length }
    : { valid: false, errors: result.errors, warnings: result.warnings };
}

// ---- compile ------------------------------------------------------------------------------------

export function renderDesiredState(state: DesiredState): string {
  const n = state.node;
  const parts = [
    `node ${n.name}  address ${n.localIp}/${n.prefixLength}  vtep ${n.vtepMac}  vni ${n.defaultVni}  port ${n.vxlanPort}  mtu ipip ${n.tunnelMtu.ipip} vxlan ${n.tunnelMtu.vxlan}\n`,
    '\nROUTES\n',
    renderTable(
      [
        { header: 'CIDR', value: (r) => r.cidr },
        { header: 'MODE', value: (r) => r.mode },
        { header: 'REMOTE', value: (r) => r.remote },
        { header: 'NODE', value: (r) => r.node },
        { header: 'VNI', value: (r) => (r.mode === 'vxlan' ? r.vni : '') },
        { header: 'VTEP MAC', value: (r) => (r.mode === 'vxlan' ? r.vtepMac : '') },
        { header: 'FLAGS', value: (r) => [r.natOutgoing && 'nat-outgoing', r.sameSubnet && 'same-subnet', r.inPool && 'in-pool', r.poolDisabled && 'pool-disabled', r.kind === 'local-block' && 'local'].filter(Boolean).join(',') },
        { header: 'POOL', value: (r) => r.pool?.name },
      ],
      state.routes,
    ),
    '\nPEERS\n',
    renderTable(
      [
        { header: 'ADDRESS', value: (p) => p.address },
        { header: 'NODE', value: (p) => p.node },
        { header: 'MODES', value: (p) => p.modes.join(',') },
        { header: 'VNI', value: (p) => p.vni },
      ],
      state.peers,
    ),
    '\nKERNEL ROUTES\n',
    renderTable(
      [
        { header: 'DST', value: (k) => k.dst },
        { header: 'VIA', value: (k) => k.via },
        { header: 'DEV', value: (k) => k.dev },
        { header: 'MTU', value: (k) => (k.type === 'tunnel' ? k.mtu : '') },
      ],
      state.kernelRoutes,
    ),
    '\nNAT (masquerade)\n',
    renderTable(
      [
        { header: 'SOURCE', value: (r) => r.sourceCidr },
        { header: 'EXCEPT TO', value: (r) => r.excludeDestinations.join(',') },
        { header: 'POOL', value: (r) => r.pool },
      ],
      state.nat,
    ),
  ];
  return parts.join('');
}

// ---- maps dump, stats -------------------------------------------------------------------------

export type MapName = (typeof MAP_NAMES)[number];

export interface MapsDump {
  routes?: RouteView[];
  peers?: PeerView[];
  config?: ConfigView;
  stats?: CounterView[];
  /** Path MTU learned per peer (docs/datapath.md, "Path MTU"); learnedNs: CLOCK_MONOTONIC. */
  pmtu?: Array<{ peer: string; mtu: number; learnedNs: string }>;
  /** How the outer packet to each peer leaves (docs/datapath.md, "Next hops"). */
  nexthops?: NexthopView[];
}

/** A `nexthops` entry: the device and MACs the encap programs use for a peer; mtu 0: not checked. */
export interface NexthopView {
  peer: string;
  ifindex: number;
  /** The device's name in this namespace, when it still exists. */
  device?: string;
  dmac: string;
  smac: string;
  mtu: number;
}

const byAddress = (a: string, b: string) => ipv4ToNumber(a) - ipv4ToNumber(b);

/** Every counter of the stats map, in enum order. */
export function readCounters(maps: DatapathMaps, perCpu = false): CounterView[] {
  return Array.from({ length: maps.stats.info.maxEntries }, (_, i) => counterView(i, maps.stats.get(i) ?? [], perCpu));
}

export function readMapsDump(maps: DatapathMaps, which: readonly MapName[], perCpu = false): MapsDump {
  const dump: MapsDump = {};
  if (which.includes('routes')) {
    dump.routes = maps.routes
      .entriesBatch()
      .map(([k, v]) => routeView(cidrOf(k), v))
      .sort((a, b) => byAddress(a.cidr.split('/')[0]!, b.cidr.split('/')[0]!) || Number(a.cidr.split('/')[1]) - Number(b.cidr.split('/')[1]));
  }
  if (which.includes('peers')) dump.peers = maps.peers.entriesBatch().map(([k, v]) => peerView(k, v)).sort((a, b) => byAddress(a.address, b.address));
  if (which.includes('config')) {
    const c = maps.config.get(0);
    if (c) dump.config = configView(c);
  }
  if (which.includes('stats')) dump.stats = readCounters(maps, perCpu);
  if (which.includes('pmtu')) dump.pmtu = maps.pmtu.entriesBatch().map(([peer, v]) => ({ peer, mtu: v.mtu, learnedNs: String(v.learned_ns) })).sort((a, b) => byAddress(a.peer, b.peer));
  if (which.includes('nexthops')) {
    const names = new Map<number, string | undefined>();
    const nameOf = (ifindex: number) => {
      if (!names.has(ifindex)) {
        try {
          names.set(ifindex, ifnameOf(ifindex));
        } catch {
          names.set(ifindex, undefined); // gone since agentd wrote the entry
        }
      }
      return names.get(ifindex);
    };
    dump.nexthops = maps.nexthops.entriesBatch().map(([peer, v]): NexthopView => {
      const device = nameOf(v.ifindex);
      return { peer, ifindex: v.ifindex, ...(device !== undefined ? { device } : {}), dmac: v.dmac, smac: v.smac, mtu: v.mtu };
    }).sort((a, b) => byAddress(a.peer, b.peer));
  }
  return dump;
}

export function routesTable(routes: readonly RouteView[]): string {
  return renderTable(
    [
      { header: 'CIDR', value: (r) => r.cidr },
      { header: 'MODE', value: (r) => r.mode },
      { header: 'REMOTE', value: (r) => r.remote },
      { header: 'VNI', value: (r) => r.vni, align: 'right' },
      { header: 'VTEP MAC', value: (r) => r.vtepMac },
      { header: 'FLAGS', value: (r) => r.flags.join(',') },
      { header: 'POOL', value: (r) => r.pool, align: 'right' },
    ],
    routes,
  );
}

export function peersTable(peers: readonly PeerView[]): string {
  return renderTable(
    [
      { header: 'ADDRESS', value: (p) => p.address },
      { header: 'MODES', value: (p) => p.modes.join(',') },
      { header: 'VNI', value: (p) => p.vni, align: 'right' },
    ],
    peers,
  );
}

export function configTable(c: ConfigView): string {
  return renderTable(
    [
      { header: 'FIELD', value: (r: [string, unknown]) => r[0] },
      { header: 'VALUE', value: (r) => (Array.isArray(r[1]) ? r[1].join(',') : String(r[1])) },
    ],
    Object.entries(c),
  );
}

export function countersTable(counters: readonly CounterView[], perCpu = false): string {
  if (!perCpu) {
    return renderTable(
      [
        { header: 'COUNTER', value: (c: CounterView) => c.name },
        { header: 'PACKETS', value: (c) => c.packets, align: 'right' },
        { header: 'BYTES', value: (c) => c.bytes, align: 'right' },
      ],
      counters,
    );
  }
  const rows = counters.flatMap((c) => (c.perCpu ?? []).map((p) => ({ name: c.name, ...p })));
  return renderTable(
    [
      { header: 'COUNTER', value: (r: (typeof rows)[number]) => r.name },
      { header: 'CPU', value: (r) => r.cpu, align: 'right' },
      { header: 'PACKETS', value: (r) => r.packets, align: 'right' },
      { header: 'BYTES', value: (r) => r.bytes, align: 'right' },
    ],
    rows,
  );
}

export function renderDump(d: MapsDump, perCpu: boolean): string {
  const parts: string[] = [];
  if (d.routes) parts.push(`ROUTES (${d.routes.length})\n${routesTable(d.routes)}`);
  if (d.peers) parts.push(`PEERS (${d.peers.length})\n${peersTable(d.peers)}`);
  if (d.config) parts.push(`CONFIG\n${configTable(d.config)}`);
  if (d.stats) parts.push(`STATS\n${countersTable(d.stats, perCpu)}`);
  if (d.pmtu) {
    parts.push(`PMTU (${d.pmtu.length})\n${renderTable([
      { header: 'PEER', value: (p: { peer: string; mtu: number }) => p.peer },
      { header: 'MTU', value: (p) => p.mtu, align: 'right' },
    ], d.pmtu)}`);
  }
  if (d.nexthops) {
    parts.push(`NEXTHOPS (${d.nexthops.length})\n${renderTable([
      { header: 'PEER', value: (n: NexthopView) => n.peer },
      { header: 'DEVICE', value: (n) => n.device ?? `#${n.ifindex}` },
      { header: 'DMAC', value: (n) => n.dmac },
      { header: 'SMAC', value: (n) => n.smac },
      { header: 'MTU', value: (n) => n.mtu || '-', align: 'right' },
    ], d.nexthops)}`);
  }
  return parts.join('\n');
}

/** The pinned maps, or null when nothing is pinned at `pinRoot` yet. */
export function openPinnedOrNull(pinRoot: string): DatapathMaps | null {
  try {
    return openDatapathMaps(pinRoot);
  } catch (e) {
    if (e instanceof NoDatapathError) return null;
    throw e;
  }
}

// ---- status ------------------------------------------------------------------------------------

export interface MapFill {
  name: string;
  type: string;
  entries: number;
  maxEntries: number;
}

export interface AttachmentView {
  /** xdp, tcx-ingress, tcx-egress, clsact-ingress, clsact-egress */
  hook: string;
  program: string;
  progId: number;
  /** One of the datapath's programs (by its kernel name). */
  burrow: boolean;
  detail: string;
}

export interface DeviceStatus {
  name: string | null;
  ifindex: number;
  /** Why it is listed: uplink (config map), tunnel, link (a pin under <pinRoot>/links), asked (--dev). */
  roles: string[];
  present: boolean;
  attached: AttachmentView[];
  error?: string;
}

export interface LinkPinView {
  pin: string;
  kind?: string;
  progId?: number;
  ifindex?: number;
  error?: string;
}

/** What agentd says of itself on /healthz (`--agent`): the part that is not in the pins. */
export interface AgentView {
  url: string;
  /** 'ok' or 'unhealthy' as agentd answered; absent when it could not be asked. */
  status?: string;
  node?: string;
  datastore?: { kind: string; connected: boolean; staleSince?: string };
  lastError?: string;
  /** Datastore objects skipped because they fail their own rules: how many, and why (the first ones). */
  skippedCount?: number;
  skippedObjects?: Record<string, string>;
  /** How agentd attaches TC programs: tcx, or clsact on a kernel without tcx. */
  tcAttach?: 'tcx' | 'clsact';
  error?: string;
}

/** A path MTU decap learned (the `pmtu` map; docs/datapath.md, "Path MTU"). */
export interface LearnedPathView {
  peer: string;
  mtu: number;
  /** Seconds since it was learned (bpf_ktime_get_ns and this process's monotonic clock). */
  ageSeconds: number;
}

export interface StatusView {
  pinRoot: string;
  /** How TC programs attach on this kernel: tcx links, or clsact filters (no tcx before 6.6). */
  tcAttach: 'tcx' | 'clsact';
  config: ConfigView | null;
  maps: MapFill[];
  /** The `pmtu` map: learned path MTUs, by peer. */
  paths: LearnedPathView[];
  devices: DeviceStatus[];
  links: LinkPinView[];
  agent?: AgentView;
}

/** GET /healthz of agentd at its --listen address (PORT, :PORT or HOST:PORT). */
export async function askAgent(listen: string, timeoutMs = 3000): Promise<AgentView> {
  const { host, port } = parseListen(listen);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as Record<string, unknown>;
    const view: AgentView = { url, status: String(body['status'] ?? (res.ok ? 'ok' : 'unhealthy')) };
    if (typeof body['node'] === 'string') view.node = body['node'];
    if (body['datastore'] && typeof body['datastore'] === 'object') view.datastore = body['datastore'] as AgentView['datastore'];
    if (typeof body['lastError'] === 'string') view.lastError = body['lastError'];
    if (typeof body['skippedCount'] === 'number') view.skippedCount = body['skippedCount'];
    if (body['tcAttach'] === 'tcx' || body['tcAttach'] === 'clsact') view.tcAttach = body['tcAttach'];
    if (body['skippedObjects'] && typeof body['skippedObjects'] === 'object') view.skippedObjects = body['skippedObjects'] as Record<string, string>;
    return view;
  } catch (e) {
    return { url, error: `agentd did not answer: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}` };
  }
}

function renderAgent(a: AgentView): string {
  if (a.error) return `\nAGENT (${a.url})\n${a.error}\n`;
  const lines = [`status ${a.status}${a.node ? `, node ${a.node}` : ''}`];
  if (a.datastore) lines.push(`datastore ${a.datastore.kind}: ${a.datastore.connected ? 'connected' : `away, stale since ${a.datastore.staleSince ?? '?'}`}`);
  else lines.push('datastore file');
  if (a.tcAttach) lines.push(`tc attach ${a.tcAttach}`);
  if (a.lastError) lines.push(`last error: ${a.lastError.split('\n')[0]}`);
  lines.push(`skipped objects: ${a.skippedCount ?? 0}`);
  let out = `\nAGENT (${a.url})\n${lines.join('\n')}\n`;
  const skipped = Object.entries(a.skippedObjects ?? {});
  if (skipped.length > 0) {
    out += renderTable(
      [
        { header: 'SKIPPED OBJECT', value: (r: [string, string]) => r[0] },
        { header: 'WHY', value: (r) => r[1].split('\n')[0] },
      ],
      skipped,
    );
  }
  return out;
}

const BURROW_PROGRAMS: ReadonlySet<string> = new Set(DATAPATH_PROGRAMS);

function attachmentsOf(a: AttachedPrograms): AttachmentView[] {
  const out: AttachmentView[] = [];
  const add = (hook: string, p: { progId: number; name: string }, detail: string) =>
    out.push({ hook, program: p.name || '(gone)', progId: p.progId, burrow: BURROW_PROGRAMS.has(p.name), detail });
  if (a.xdp) add('xdp', a.xdp, `mode ${a.xdp.mode}`);
  for (const dir of ['ingress', 'egress'] as const) {
    for (const p of a.tcx[dir]) add(`tcx-${dir}`, p, `link ${p.linkId}`);
    for (const p of a.clsact[dir]) add(`clsact-${dir}`, p, `prio ${p.priority}${p.directAction ? ' direct-action' : ''}`);
  }
  return out;
}

function readLinkPins(pinRoot: string): LinkPinView[] {
  const dir = path.join(pinRoot, 'links');
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const pin = path.join(dir, name);
    try {
      const link = openLinkPin(pin); // a pinned bpf_link, or a recorded clsact filter
      try {
        const st = link.state();
        return { pin, kind: link.kind, progId: st.progId, ifindex: st.ifindex };
      } finally {
        link.close();
      }
    } catch (e) {
      return { pin, error: e instanceof Error ? e.message : String(e) };
    }
  });
}

function deviceStatus(key: string | number, roles: string[]): DeviceStatus {
  let ifindex = typeof key === 'number' ? key : 0;
  let name: string | null = typeof key === 'string' ? key : null;
  try {
    ifindex = ifindexOf(key);
    name = ifnameOf(ifindex);
  } catch (e) {
    return { name, ifindex, roles, present: false, attached: [], error: e instanceof Error ? e.message : String(e) };
  }
  try {
    return { name, ifindex, roles, present: true, attached: attachmentsOf(listAttached(ifindex)) };
  } catch (e) {
    return { name, ifindex, roles, present: true, attached: [], error: e instanceof Error ? e.message : String(e) };
  }
}

function mapFill(maps: DatapathMaps): MapFill[] {
  const counted = (name: string, info: { typeName: string; maxEntries: number }, entries: number): MapFill => ({
    name, type: info.typeName, entries, maxEntries: info.maxEntries,
  });
  return [
    counted('routes', maps.routes.info, maps.routes.entriesBatch().length),
    counted('peers', maps.peers.info, maps.peers.entriesBatch().length),
    counted('pmtu', maps.pmtu.info, maps.pmtu.entriesBatch().length),
    counted('nexthops', maps.nexthops.info, maps.nexthops.entriesBatch().length),
    // Arrays always hold max_entries elements.
    counted('config', maps.config.info, maps.config.info.maxEntries),
    counted('stats', maps.stats.info, maps.stats.info.maxEntries),
  ];
}

/** The `pmtu` entries, narrowest first; the age from CLOCK_MONOTONIC, the clock decap stamps with. */
export function learnedPaths(maps: DatapathMaps, now = process.hrtime.bigint()): LearnedPathView[] {
  return maps.pmtu.entriesBatch()
    .map(([peer, v]) => ({ peer, mtu: v.mtu, ageSeconds: Math.max(0, Math.round(Number(now - v.learned_ns) / 1e8) / 10) }))
    .sort((a, b) => a.mtu - b.mtu || a.peer.localeCompare(b.peer));
}

export function readStatus(pinRoot: string, maps: DatapathMaps, extraDevices: readonly string[], tunnelDevice: string): StatusView {
  const c = maps.config.get(0);
  const config = c && !isZeroConfig(c) ? c : undefined;
  const links = readLinkPins(pinRoot);
  const wanted = new Map<string | number, string[]>();
  const want = (key: string | number, role: string) => wanted.set(key, [...(wanted.get(key) ?? []), role]);
  if (config && config.uplink_ifindex !== 0) want(config.uplink_ifindex, 'uplink');
  for (const l of links) if (l.ifindex) want(l.ifindex, 'link');
  for (const d of extraDevices) want(d, 'asked');
  // The tunnel device is listed when it exists (or was named); its absence is not an error.
  const tunnel = deviceStatus(tunnelDevice, ['tunnel']);
  // Merge entries naming the same interface by name and by ifindex.
  const devices: DeviceStatus[] = [];
  for (const [key, roles] of wanted) {
    const d = deviceStatus(key, roles);
    const same = devices.find((x) => x.present && d.present && x.ifindex === d.ifindex);
    if (same) same.roles.push(...roles.filter((r) => !same.roles.includes(r)));
    else devices.push(d);
  }
  if (tunnel.present) {
    const same = devices.find((x) => x.present && x.ifindex === tunnel.ifindex);
    if (same) same.roles.push('tunnel');
    else devices.push(tunnel);
  }
  return { pinRoot, tcAttach: tcAttachKind(), config: config ? configView(config) : null, maps: mapFill(maps), paths: learnedPaths(maps), devices, links };
}

export function renderStatus(s: StatusView): string {
  const parts: string[] = [`pin root ${s.pinRoot}\n`];
  if (s.tcAttach === 'clsact') parts.push('tc attach clsact: this kernel has no tcx (6.6+); TC programs are cls_bpf filters, recorded under links/\n');
  parts.push(s.config ? `\nNODE CONFIG\n${configTable(s.config)}` : '\nNODE CONFIG\nnot written yet (all zero): run agentctl apply or agentd\n');
  parts.push(
    '\nMAPS\n' +
      renderTable(
        [
          { header: 'MAP', value: (m: MapFill) => m.name },
          { header: 'TYPE', value: (m) => m.type },
          { header: 'ENTRIES', value: (m) => m.entries, align: 'right' },
          { header: 'MAX', value: (m) => m.maxEntries, align: 'right' },
          { header: 'FILL', value: (m) => `${((100 * m.entries) / Math.max(1, m.maxEntries)).toFixed(1)}%`, align: 'right' },
        ],
        s.maps,
      ),
  );
  parts.push(
    '\nLEARNED PATH MTU (pmtu)\n' +
      (s.paths.length === 0
        ? 'none: no ICMP frag-needed about our tunnel packets (or every entry expired)\n'
        : renderTable(
            [
              { header: 'PEER', value: (p: LearnedPathView) => p.peer },
              { header: 'MTU', value: (p) => p.mtu, align: 'right' },
              { header: 'AGE', value: (p) => `${p.ageSeconds}s`, align: 'right' },
            ],
            s.paths,
          )),
  );
  const rows = s.devices.flatMap((d) =>
    d.attached.length
      ? d.attached.map((a) => ({ d, a }))
      : [{ d, a: undefined as AttachmentView | undefined }],
  );
  parts.push(
    '\nATTACHED\n' +
      (rows.length === 0
        ? 'no uplink in the config map, no links pinned, no tunnel device: nothing to inspect\n'
        : renderTable(
            [
              { header: 'DEVICE', value: (r: (typeof rows)[number]) => r.d.name ?? `ifindex ${r.d.ifindex}` },
              { header: 'ROLE', value: (r) => r.d.roles.join(',') },
              { header: 'HOOK', value: (r) => r.a?.hook ?? (r.d.present ? 'nothing attached' : 'absent') },
              { header: 'PROGRAM', value: (r) => r.a && `${r.a.program}${r.a.burrow ? '' : ' (not burrow)'}` },
              { header: 'ID', value: (r) => r.a?.progId, align: 'right' },
              { header: 'DETAIL', value: (r) => r.a?.detail ?? r.d.error },
            ],
            rows,
          )),
  );
  if (s.links.length) {
    parts.push(
      `\nLINK PINS (${path.join(s.pinRoot, 'links')})\n` +
        renderTable(
          [
            { header: 'PIN', value: (l: LinkPinView) => path.basename(l.pin) },
            { header: 'KIND', value: (l) => l.kind },
            { header: 'PROG ID', value: (l) => l.progId, align: 'right' },
            { header: 'IFINDEX', value: (l) => l.ifindex || (l.error ? '' : 'detached'), align: 'right' },
            { header: 'ERROR', value: (l) => l.error },
          ],
          s.links,
        ),
    );
  }
  if (s.agent) parts.push(renderAgent(s.agent));
  return parts.join('');
}

// ---- trace -------------------------------------------------------------------------------------

export interface TraceView {
  hook: 'egress' | 'ingress';
  program: DatapathProgramName;
  pinRoot: string;
  input: { length: number; layers: Layer[] };
  /** ingress: the node the frame comes from and how it encapsulated it. */
  sender: Omit<IngressSender, 'route'> | null;
  /** egress: the routes entry matching --dst. */
  route: RouteView | null;
  /** ingress: the peers entry of the outer source. */
  peer: PeerView | null;
  retval: number;
  /** pass, drop, redirect or tx (the codec's words), and the program's action name. */
  verdict: string;
  action: string;
  counters: CounterDelta[];
  output: { length: number; layers: Layer[] };
  codec: { verdict: string; retval: number; counter: string; outputLength: number };
  agree: boolean;
  disagreements: string[];
  otherCounters: string[];
}

const VERDICTS = {
  tc: { [TcAction.ok]: 'pass', [TcAction.shot]: 'drop', [TcAction.redirect]: 'redirect' },
  xdp: { [XdpAction.pass]: 'pass', [XdpAction.drop]: 'drop', [XdpAction.redirect]: 'redirect', [XdpAction.tx]: 'tx', [XdpAction.aborted]: 'aborted' },
} as const;

export function verdictOf(hook: 'tc' | 'xdp', retval: number): string {
  return (VERDICTS[hook] as Record<number, string>)[retval] ?? `retval ${retval}`;
}

export function moved(before: readonly CounterView[], after: readonly CounterView[]): CounterDelta[] {
  return after
    .map((a, i) => ({ name: a.name, packets: a.packets - (before[i]?.packets ?? 0), bytes: a.bytes - (before[i]?.bytes ?? 0) }))
    .filter((d) => d.packets !== 0 || d.bytes !== 0);
}

export function renderTrace(v: TraceView): string {
  const layers = (ls: Layer[]) => ls.map((l) => `  ${layerLine(l)}`);
  const lines = [
    `trace ${v.hook} through ${v.program} (a test run on the live maps under ${v.pinRoot})`,
    ...(v.sender ? [`sender  ${v.sender.outerSrc} over ${v.sender.mode}${v.sender.mode === 'vxlan' ? ` vni ${v.sender.vni}` : ''}`] : []),
    `input   ${v.input.length} bytes`,
    ...layers(v.input.layers),
    ...(v.hook === 'egress'
      ? [`route   ${v.route ? `${v.route.cidr} ${v.route.mode} via ${v.route.remote}${v.route.mode === 'vxlan' ? ` vni ${v.route.vni} vtep ${v.route.vtepMac}` : ''}${v.route.flags.length ? ` [${v.route.flags.join(',')}]` : ''}` : 'no route matches'}`]
      : [`peer    ${v.peer ? `${v.peer.address} modes ${v.peer.modes.join(',') || 'none'} vni ${v.peer.vni}` : 'not in the peers map'}`]),
    `verdict ${v.verdict} (${v.action} ${v.retval})`,
    `counters ${v.counters.map((c) => `${c.name} +${c.packets} packet${c.packets === 1 ? '' : 's'} +${c.bytes} bytes`).join(', ') || 'none moved'}`,
    `output  ${v.output.length} bytes`,
    ...layers(v.output.layers),
    v.agree
      ? `codec   agrees: ${v.codec.verdict}, ${v.codec.counter}, the same ${v.codec.outputLength} output bytes`
      : `codec   DISAGREES (predicts ${v.codec.verdict}, ${v.codec.counter}, ${v.codec.outputLength} bytes):\n${v.disagreements.map((d) => `  - ${d}`).join('\n')}`,
    ...(v.otherCounters.length ? [`note    other counters moved meanwhile (live traffic?): ${v.otherCounters.join(', ')}`] : []),
  ];
  return lines.join('\n') + '\n';
}
