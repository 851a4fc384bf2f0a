import { Command } from 'commander';
import { z } from 'zod';

import { ipv4ToNumber } from '../../codec/address.js';
import { MAP_NAMES, openDatapathMaps, type DatapathMaps } from '../../agent/datapath.js';
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
} from '../../agent/map-views.js';
import { globalOptions, outputOption, parseOptions } from '../options.js';
import { renderJson, renderTable } from '../output.js';

export type MapName = (typeof MAP_NAMES)[number];

export interface MapsDump {
  routes?: RouteView[];
  peers?: PeerView[];
  config?: ConfigView;
  stats?: CounterView[];
  /** Path MTU learned per peer (docs/datapath.md, "Path MTU"); learnedNs: CLOCK_MONOTONIC. */
  pmtu?: Array<{ peer: string; mtu: number; learnedNs: string }>;
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

function renderDump(d: MapsDump, perCpu: boolean): string {
  const parts: string[] = [];
  if (d.routes) parts.push(`ROUTES (${d.routes.length})\n${routesTable(d.routes)}`);
  if (d.peers) parts.push(`PEERS (${d.peers.length})\n${peersTable(d.peers)}`);
  if (d.config) parts.push(`CONFIG\n${configTable(d.config)}`);
  if (d.stats) parts.push(`STATS\n${countersTable(d.stats, perCpu)}`);
  return parts.join('\n');
}

const dumpOptions = z.strictObject({ ...globalOptions, output: outputOption, perCpu: z.boolean().default(false) });

function dumpCommand(): Command {
  return new Command('dump')
    .description('Decode the pinned maps (routes, peers, config, stats, pmtu), read directly: no daemon needed')
    .argument('[map]', `one of ${MAP_NAMES.join(', ')} (default: all)`)
    .option('-o, --output <format>', 'table or json', 'table')
    .option('--per-cpu', 'stats: one row per CPU instead of sums')
    .addHelpText(
      'after',
      `
Fields: routes CIDR, mode (none/ipip/vxlan), remote, VNI, VTEP MAC, flags (nat-outgoing,
same-subnet, in-pool, pool-disabled, local), pool index — the pools (remote 0.0.0.0) and this
node's own blocks (local) are there too, for decap's inner address check; peers address, modes,
VNI; config every field (flags: decap_src_pool); stats counter names with packets and bytes
summed over CPUs (per CPU with --per-cpu).

Examples:
  agentctl maps dump
  agentctl maps dump routes -o json | jq '.routes[] | select(.mode == "vxlan")'
  agentctl --pin-root /run/burrow/node-a maps dump stats --per-cpu`,
    )
    .action((map: string | undefined, _opts: unknown, cmd: Command) => {
      const opts = parseOptions(dumpOptions, cmd.optsWithGlobals());
      const which = parseOptions(z.strictObject({ map: z.enum(MAP_NAMES).optional() }), { map }).map;
      const maps = openDatapathMaps(opts.pinRoot);
      try {
        const dump = readMapsDump(maps, which ? [which] : MAP_NAMES, opts.perCpu);
        process.stdout.write(opts.output === 'json' ? renderJson(dump) : renderDump(dump, opts.perCpu));
      } finally {
        maps.close();
      }
    });
}

export function mapsCommand(): Command {
  return new Command('maps')
    .description('Read the datapath\'s pinned BPF maps')
    .addHelpText('after', '\nExamples:\n  agentctl maps dump\n  agentctl maps dump peers -o json')
    .addCommand(dumpCommand());
}
