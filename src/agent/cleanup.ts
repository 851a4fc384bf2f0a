/**
 * Removing everything agentd made in a node (agentctl cleanup, agentd --cleanup-on-exit): the
 * pinned links (detached first, so the datapath stops even if some other process still holds a
 * link fd), the map pins, burrow's proto-tagged kernel routes, its nft table, the tunnel device
 * pair, and the bpffs mount on the pin root once nothing else is pinned there. Each step runs
 * even when an earlier one fails; the report says what was found and removed, and what failed.
 *
 * Only burrow's own pins are touched, by name and kind (datapath.ts, attach.ts): the maps
 * `routes`, `peers`, `config`, `stats` (each checked to be that map: its name, type and key size)
 * and, under `links/`, the bpf_links `<program>@<interface>` of burrow's programs (checked to be a
 * link running that program). Nothing is removed recursively; anything else — another tool's pins
 * on a shared bpffs — is left alone and listed. A pin root that is not on a bpffs and holds files
 * is refused before anything is touched (PinRootError): burrow pins nothing there.
 */
import fs from 'node:fs';
import path from 'node:path';

import { BpfMap, MapType, Program, burrowConfigKey, burrowPeerKey, burrowRouteKey, burrowStatKey, burrowPmtuKey, burrowNexthopKey, openLinkPin, type Link } from '../bpf/index.js';
import { addon } from '../bpf/native.js';
import { DATAPATH_PROGRAMS, MAP_NAMES } from './datapath.js';
import { detachPinned, linksDir } from './attach.js';
import { run } from './exec.js';
import { applyKernelRoutes, BURROW_ROUTE_PROTO, listKernelRoutes } from './kernel-routes.js';
import { removeManagedNeighbours } from './nexthops.js';
import { removePmtuRoutes } from './pmtu.js';
import { DEFAULT_NAT_TABLE } from './reconcile.js';
import { fsTypeOf, isBpffs, isPreloadIterator, PinRootError, releasePinRoot } from './pin-root.js';
import { removeTunnelDevice } from './tunnel-device.js';
import { listAsideMaps } from './upgrade.js';

export interface CleanupOptions {
  pinRoot: string;
  tunnelDevice?: string;
  natTable?: string;
  routeProto?: number;
  /** Unmount the pin root's bpffs when it is a mount point of its own (default true). */
  unmount?: boolean;
}

export interface CleanupReport {
  /** Link pins detached and removed (names under links/). */
  links: string[];
  /** Map pins removed (and `links/` once empty). */
  pins: string[];
  /** Entries under the pin root that are not burrow's: untouched. */
  leftAlone: string[];
  routes: string[];
  /** Managed neighbours agentd made for next hops (nexthops.ts, protocol 211), deleted. */
  neighbours?: number;
  natTable: boolean;
  tunnelDevice: boolean;
  unmounted: boolean;
  /** Why the bpffs stayed mounted, when it did. */
  mount?: string;
  errors: string[];
}

/** What each map burrow pins is: its kernel name, type and key size (datapath.ts, burrow.h). */
const BURROW_MAPS: Record<(typeof MAP_NAMES)[number], { type: number; keySize: number }> = {
  routes: { type: MapType.lpm_trie, keySize: burrowRouteKey.size },
  peers: { type: MapType.hash, keySize: burrowPeerKey.size },
  config: { type: MapType.array, keySize: burrowConfigKey.size },
  stats: { type: MapType.percpu_array, keySize: burrowStatKey.size },
  pmtu: { type: MapType.hash, keySize: burrowPmtuKey.size },
  nexthops: { type: MapType.hash, keySize: burrowNexthopKey.size },
};

/** `<program>@<interface>` as attach.ts names link pins (dots made '_'), and `~new`, a record being rewritten by Link.update. */
const LINK_PIN = new RegExp(`^(${DATAPATH_PROGRAMS.join('|')})@[A-Za-z0-9_:-]{1,15}(~new)?$`);

type PinRootState = 'bpffs' | 'missing' | 'empty';

/**
 * Whether cleanup may look inside `pinRoot`: a bpffs, or a directory that is gone or empty (its
 * bpffs was unmounted by an earlier cleanup). Anything else is refused whole.
 */
export function cleanablePinRoot(pinRoot: string): PinRootState {
  const st = fs.statSync(pinRoot, { throwIfNoEntry: false });
  if (!st) return 'missing';
  if (!st.isDirectory()) throw new PinRootError(`${pinRoot} is not a directory, so not a pin root: refusing to clean up; nothing was removed`);
  if (isBpffs(pinRoot)) return 'bpffs';
  if (fs.readdirSync(pinRoot).length === 0) return 'empty';
  throw new PinRootError(
    `${pinRoot} is not on a bpffs (it is on ${fsTypeOf(pinRoot)}) and holds files: burrow pins nothing there, so it is not a pin root of burrow's; refusing to clean up; nothing was removed`,
  );
}

/** The map pinned at `file` is burrow's `name` map (name, type, key size). */
function isBurrowMap(file: string, name: (typeof MAP_NAMES)[number]): boolean {
  let map: BpfMap<Buffer, Buffer>;
  try {
    map = BpfMap.rawFromFd(addon().objGet(file), file);
  } catch {
    return false; // not a map (or not a pin at all)
  }
  try {
    const want = BURROW_MAPS[name];
    return map.info.name === name && map.info.type === want.type && map.info.keySize === want.keySize;
  } finally {
    map.close();
  }
}

/** The link pinned (or clsact filter recorded, src/bpf/link.ts) at `file` runs burrow's program `program`. */
function isBurrowLink(file: string, program: string): boolean {
  let link: Link;
  try {
    link = openLinkPin(file);
  } catch {
    return false;
  }
  try {
    const prog = Program.fromId(link.state().progId);
    try {
      return prog.info().name === program;
    } finally {
      prog.close();
    }
  } catch {
    return false;
  } finally {
    link.close();
  }
}

/** Detaches and unpins burrow's links under `<pinRoot>/links/`; everything else there stays. */
function removeLinks(pinRoot: string, report: CleanupReport): void {
  const dir = linksDir(pinRoot);
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) {
    report.leftAlone.push('links');
    return;
  }
  for (const name of fs.readdirSync(dir).sort()) {
    const m = LINK_PIN.exec(name);
    const file = path.join(dir, name);
    if (!m || !isBurrowLink(file, m[1]!)) {
      report.leftAlone.push(`links/${name}`);
      continue;
    }
    try {
      detachPinned(file);
      report.links.push(name);
    } catch (e) {
      report.errors.push(`link ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  try {
    fs.rmdirSync(dir);
    report.pins.push('links/');
  } catch {
    // not empty: something that is not burrow's is in it (listed above)
  }
}

/** Unpins burrow's maps; lists what else the pin root holds. */
function removeMaps(pinRoot: string, report: CleanupReport): void {
  // Each map under its own name, and any pinned aside by an interrupted migration (upgrade.ts:
  // `<map>~old-<id>`). What is not burrow's map of that name is listed with the rest below.
  const known = new Set<string>(['links']);
  for (const { name, map } of [...MAP_NAMES.map((map) => ({ name: map, map })), ...listAsideMaps(pinRoot)]) {
    const file = path.join(pinRoot, name);
    if (!fs.existsSync(file) || !isBurrowMap(file, map)) continue;
    known.add(name);
    try {
      fs.unlinkSync(file);
      report.pins.push(name);
    } catch (e) {
      report.errors.push(`pin ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  for (const name of fs.readdirSync(pinRoot).sort()) {
    if (!known.has(name) && !isPreloadIterator(name)) report.leftAlone.push(name);
  }
}

export async function cleanupAgentState(opts: CleanupOptions): Promise<CleanupReport> {
  const state = cleanablePinRoot(opts.pinRoot); // refused whole before anything is touched
  const report: CleanupReport = { links: [], pins: [], leftAlone: [], routes: [], natTable: false, tunnelDevice: false, unmounted: false, errors: [] };
  const attempt = async (what: string, fn: () => unknown): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      report.errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  if (state === 'bpffs') {
    await attempt('links', () => removeLinks(opts.pinRoot, report));
    await attempt('pins', () => removeMaps(opts.pinRoot, report));
  }
  await attempt('kernel routes', async () => {
    const proto = opts.routeProto ?? BURROW_ROUTE_PROTO;
    const routes = await listKernelRoutes(proto);
    await applyKernelRoutes([], routes, proto);
    report.routes = routes.map((r) => r.dst);
    // The path MTU routes (pmtu.ts, proto 212).
    report.routes.push(...await removePmtuRoutes());
  });
  await attempt('neighbours', async () => {
    const removed = await removeManagedNeighbours();
    if (removed > 0) report.neighbours = removed;
  });
  await attempt('nft table', async () => {
    const table = opts.natTable ?? DEFAULT_NAT_TABLE;
    const out = await run(['nft', 'list', 'tables', 'ip']);
    if (out.split('\n').some((l) => l.trim() === `table ip ${table}`)) {
      await run(['nft', 'delete', 'table', 'ip', table]);
      report.natTable = true;
    }
  });
  await attempt('tunnel device', async () => {
    report.tunnelDevice = await removeTunnelDevice(opts.tunnelDevice ?? 'burrow0');
  });
  if (state === 'bpffs' && (opts.unmount ?? true)) {
    await attempt('bpffs', () => {
      const r = releasePinRoot(opts.pinRoot);
      report.unmounted = r.unmounted;
      if (r.why !== undefined) report.mount = r.why;
    });
  }
  return report;
}
