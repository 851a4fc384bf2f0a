/**
 * Upgrades and rollbacks across map-layout changes (docs/operations.md, "Upgrades";
 * docs/datapath.md, "Pins across upgrades").
 *
 * A pinned map is adopted as long as the kernel map matches the object's definition (type, key and
 * value size, max entries, flags; collection.ts). When a new build (or an older one, on rollback)
 * defines a map differently, agentd migrates instead of refusing:
 *
 *   1. before loading, every pinned map the objects define differently is pinned aside: renamed
 *      within the pin root to `<map>~old-<map id>` (bpffs renames; names may not contain '.').
 *      The programs attached now keep running against it: they hold the map, not the pin;
 *   2. the objects load as usual: the free names get new maps, the compatible ones are adopted;
 *      the counters of a migrated `stats` map are carried over where both layouts have them;
 *   3. the first cycle fills the new maps from the desired state (the engine's adopt finds them
 *      empty, its flush writes everything they lack) and only then swaps the programs, in place
 *      (attach.ts, Link.update: BPF_LINK_UPDATE, XDP_FLAGS_REPLACE, or a clsact filter replaced);
 *   4. once the new programs are in place, the pins aside are removed; the old maps go with the
 *      last old program that used them.
 *
 * A start that stops between 1 and 4 leaves the pins aside (and the old programs forwarding on
 * them); the next start finds the new layout under the usual names, adopts it, fills it, swaps
 * the programs, and removes every pin aside it finds (removeAsideMaps).
 */
import fs from 'node:fs';
import path from 'node:path';

import { BpfMap, CollectionSpec, ErrInvalid, burrowStatKey, burrowStatValue, perCpu, pinnedMapDifferences, type BurrowStatValue, type MapSpec } from '../bpf/index.js';
import { MAP_NAMES } from './datapath.js';

export interface MapMigration {
  /** routes, peers, config or stats. */
  map: string;
  /** Where the old map is pinned until the new programs are in place. */
  aside: string;
  /** The old map's kernel id. */
  oldId: number;
  /** What differs, as "<what> <pinned>, object wants <wanted>". */
  differences: string[];
  /** Counters carried over into the new map (stats only; 0 otherwise). */
  carried?: number;
}

/** `<map>~old-<id>`: a map pinned aside by a migration. */
const ASIDE = new RegExp(`^(${MAP_NAMES.join('|')})~old-(\\d+)$`);

export function asidePinName(map: string, id: number): string {
  return `${map}~old-${id}`;
}

/** Pins aside under `pinRoot`, left by this start's migration or an interrupted one: each pin's name and the map it was. */
export function listAsideMaps(pinRoot: string): { name: string; map: (typeof MAP_NAMES)[number] }[] {
  let names: string[];
  try {
    names = fs.readdirSync(pinRoot);
  } catch {
    return [];
  }
  return names
    .sort()
    .flatMap((name) => {
      const m = ASIDE.exec(name);
      return m ? [{ name, map: m[1] as (typeof MAP_NAMES)[number] }] : [];
    });
}

/** The shared maps as the objects define them (the first object defining a map wins). */
function wantedMaps(objects: readonly string[]): Map<string, MapSpec> {
  const wanted = new Map<string, MapSpec>();
  for (const file of objects) {
    const spec = CollectionSpec.open(file);
    try {
      for (const m of spec.maps) {
        if ((MAP_NAMES as readonly string[]).includes(m.name) && !wanted.has(m.name)) wanted.set(m.name, m);
      }
    } finally {
      spec.close();
    }
  }
  return wanted;
}

/**
 * Step 1: compares every map pinned under `pinRoot` with the definition in `objects` and pins the
 * incompatible ones aside. Returns what was moved (nothing when every pinned map fits: the
 * usual restart). Call before loadDatapath.
 */
export function pinAsideIncompatibleMaps(pinRoot: string, objects: readonly string[]): MapMigration[] {
  const wanted = wantedMaps(objects);
  const moved: MapMigration[] = [];
  for (const [name, want] of wanted) {
    const pin = path.join(pinRoot, name);
    if (!fs.existsSync(pin)) continue;
    const { id, differences } = pinnedMapDifferences(want, pin);
    if (differences.length === 0) continue;
    const aside = path.join(pinRoot, asidePinName(name, id));
    fs.rmSync(aside, { force: true }); // the same map pinned aside by an interrupted start
    fs.renameSync(pin, aside);
    moved.push({ map: name, aside, oldId: id, differences });
  }
  return moved;
}

/**
 * Step 2's carry-over: copies the counters of a stats map pinned aside into the new one, for the
 * indexes both have, when the counter's layout is the same. Counts the old programs make between
 * this copy and the swap are not carried (a few packets' worth). Returns how many were copied.
 */
export function carryStats(migration: MapMigration, into: BpfMap<number, BurrowStatValue[]>): number {
  if (migration.map !== 'stats') return 0;
  if (into.info.valueSize !== burrowStatValue.size) return 0;
  let old: BpfMap<number, BurrowStatValue[]>;
  try {
    old = BpfMap.openPinned(migration.aside, burrowStatKey, perCpu(burrowStatValue));
  } catch (e) {
    if (e instanceof ErrInvalid) return 0; // another counter layout: nothing to carry
    throw e;
  }
  try {
    if (old.info.valueSize !== burrowStatValue.size) return 0;
    const n = Math.min(old.info.maxEntries, into.info.maxEntries);
    for (let i = 0; i < n; i++) {
      const v = old.get(i);
      if (v) into.set(i, v);
    }
    return n;
  } finally {
    old.close();
  }
}

/**
 * Step 4: removes every pin aside under `pinRoot` (this start's and any an interrupted start
 * left). Call once the new programs are attached. Returns the names removed.
 */
export function removeAsideMaps(pinRoot: string): string[] {
  const names = listAsideMaps(pinRoot).map((a) => a.name);
  for (const n of names) fs.rmSync(path.join(pinRoot, n), { force: true });
  return names;
}
