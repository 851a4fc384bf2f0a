import fs from 'node:fs';
import path from 'node:path';

import { Command } from 'commander';
import { z } from 'zod';

import { ifindexOf, ifnameOf, listAttached, openLinkPin, tcAttachKind, type AttachedPrograms } from '../../bpf/index.js';
import { DATAPATH_PROGRAMS, openDatapathMaps, type DatapathMaps } from '../../agent/datapath.js';
import { isZeroConfig } from '../../agent/plan.js';
import { configView, type ConfigView } from '../../agent/map-views.js';
import { listenField, parseListen } from '../../agent/metrics.js';
import { globalOptions, ifnameOption, outputOption, parseOptions } from '../options.js';
import { renderJson, renderTable } from '../output.js';
import { configTable } from './maps.js';

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

function renderStatus(s: StatusView): string {
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

const statusOptions = z.strictObject({
  ...globalOptions,
  output: outputOption,
  tunnelDevice: ifnameOption,
  dev: z.array(ifnameOption).default([]),
  agent: listenField("expected PORT, :PORT or HOST:PORT (agentd's --listen)").optional(),
});

export function statusCommand(): Command {
  return new Command('status')
    .description('What is attached where, how full the maps are, and the node config')
    .option('--tunnel-device <dev>', 'the tunnel device to inspect when it exists', 'burrow0')
    .option('--dev <name...>', 'more interfaces to inspect')
    .option('--agent <addr>', "also ask agentd at its --listen address (PORT, :PORT or HOST:PORT): health, datastore connection, skipped objects")
    .option('-o, --output <format>', 'table or json', 'table')
    .addHelpText(
      'after',
      `
Interfaces inspected (in this network namespace): the uplink named by the config map, the
interfaces of the links pinned under <pin-root>/links, the tunnel device, and --dev. For each:
XDP (and its mode), tcx and clsact programs, marked when they are not burrow's.

Examples:
  agentctl status
  agentctl status --agent 127.0.0.1:9436     # agentd's view too: datastore, skipped objects
  ip netns exec node-a agentctl --pin-root /run/burrow/node-a status -o json | jq '.maps'`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = parseOptions(statusOptions, cmd.optsWithGlobals());
      const agent = opts.agent !== undefined ? await askAgent(opts.agent) : undefined;
      const maps = openDatapathMaps(opts.pinRoot);
      try {
        const status: StatusView = { ...readStatus(opts.pinRoot, maps, opts.dev, opts.tunnelDevice), ...(agent ? { agent } : {}) };
        process.stdout.write(opts.output === 'json' ? renderJson(status) : renderStatus(status));
      } finally {
        maps.close();
      }
    });
}
