/**
 * One measurement of the incremental engine (src/engine, docs/control-plane.md) in its own
 * process, inside a private mount namespace (engine.ts runs it under `unshare --mount`): the
 * bpffs and the maps vanish with it. Prints one JSON line.
 *
 *   cold      the file source reads the manifest directory (JSON lists or one multi-document
 *             YAML), the engine validates and derives, adopts the empty maps and flushes: file
 *             read → maps written
 *   events    each event `rounds` times, median: a node with its blocks added in a file of its
 *             own, that file removed, one block added, that block removed, the pool's mode
 *             flipped (IPIP → VXLAN: every route changes) and back. Timed from the event to the
 *             maps updated (engine.apply + flush); the route is then looked up in the map
 *   resync    drift check with nothing to change: the routes, peers and config maps read back and
 *             compared with what was written, then a flush (nothing to write)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { loadDatapath, type DatapathMaps } from '../src/agent/datapath.js';
import { parseManifestDocuments } from '../src/config/documents.js';
import { burrowRoute } from '../src/bpf/index.js';
import { Engine, writeRouteKey, type EngineTarget } from '../src/engine/engine.js';
import type { SourceEvent } from '../src/engine/events.js';
import { FileSource } from '../src/engine/file-source.js';
import { datapathTarget } from '../src/engine/target.js';
import { blockCidr, blockInMap, blockManifests, LOCAL_NODE, nodeManifest, POOL_CIDR } from './scale-manifests.js';

export interface EngineChildOptions {
  manifests: string;
  extraNode: number;
  blocksPerNode: number;
  rounds: number;
}

export interface EngineChildResult {
  routes: number;
  peers: number;
  coldMs: number;
  coldCpuMs: number;
  /** The cold start's parts: read + validate + derive (file source → engine), adopt, flush. */
  coldPhasesMs: { source: number; derive: number; adopt: number; flush: number };
  /** The same routes written raw (pre-encoded, one BPF_MAP_UPDATE_BATCH) into an emptied map. */
  rawWriteMs: number[];
  /** Event → maps updated, per kind of event: every round. */
  eventMs: Record<string, number[]>;
  /** Route changes each event wrote. */
  eventChanges: Record<string, number>;
  resyncMs: number[];
  resyncCpuMs: number[];
  rssAfterColdMiB: number;
  hwmAfterColdMiB: number;
  maxRssMiB: number;
  heapUsedMiB: number;
}

const UPLINK = { name: 'up0', ifindex: 1, mac: '02:00:00:00:00:01', mtu: 1500 };

const status = (field: string): number => {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const now = () => Number(process.hrtime.bigint()) / 1e6;

function openMaps(): DatapathMaps {
  const pinRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-bench-engine-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', pinRoot]);
  const dp = loadDatapath(pinRoot, ['tc_encap']);
  execFileSync('umount', ['-l', pinRoot]);
  fs.rmdirSync(pinRoot);
  return dp.maps;
}

function replace(id: string, value: unknown): SourceEvent {
  const text = JSON.stringify(value);
  return { type: 'replace', source: { id, order: [1, id] }, items: parseManifestDocuments(text, id) };
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as EngineChildOptions;
  const maps = openMaps();
  const target: EngineTarget = datapathTarget(maps, null);
  const engine = new Engine({ localNode: LOCAL_NODE });

  const c0 = cpuMs();
  const t0 = now();
  let deriveMs = 0;
  const source = new FileSource({ paths: [o.manifests], sink: (events) => { engine.apply(events); deriveMs += engine.lastApply.deriveMs; } });
  await source.start();
  source.close();
  if (!engine.valid) throw new Error(`manifests invalid: ${engine.errors().slice(0, 3).map((d) => d.message).join('; ')}`);
  const t1 = now();
  await engine.adopt(target);
  const t2 = now();
  const cold = await engine.flush(target, { uplink: UPLINK });
  const coldMs = now() - t0;
  const coldPhasesMs = { source: t1 - t0, derive: deriveMs, adopt: t2 - t1, flush: now() - t2 };
  const coldCpuMs = cpuMs() - c0;
  const rssAfterColdMiB = status('VmRSS');
  const hwmAfterColdMiB = status('VmHWM');

  const routeKey = (cidr: string) => {
    const [addr, len] = cidr.split('/');
    return { prefixlen: Number(len), addr: addr! };
  };
  const eventMs: Record<string, number[]> = {};
  const eventChanges: Record<string, number> = {};
  const timedEvent = async (name: string, events: SourceEvent[], check: () => boolean) => {
    const t = now();
    engine.apply(events);
    const r = await engine.flush(target, { uplink: UPLINK });
    (eventMs[name] ??= []).push(now() - t);
    eventChanges[name] = r.counts.routesSet + r.counts.routesDeleted;
    if (!check()) throw new Error(`event '${name}': the map does not show it`);
  };
  const extra = o.extraNode;
  const nodeDoc = { apiVersion: 'v1', kind: 'List', items: [nodeManifest(extra), ...blockManifests(extra, o.blocksPerNode)] };
  const firstBlock = routeKey(blockCidr(extra * o.blocksPerNode));
  // A block for node-1 from a free part of the pool (past every node's blocks, the extra node's too).
  const freeCidr = blockCidr((extra + 2) * o.blocksPerNode);
  const oneBlock = { apiVersion: 'projectcalico.org/v3', kind: 'BlockAffinity', metadata: { name: `node-1-${freeCidr.replace(/[./]/g, '-')}` }, spec: { node: 'node-1', cidr: freeCidr, state: 'confirmed' } };
  const oneBlockKey = routeKey(freeCidr);
  const poolDoc = (vxlan: boolean) => ({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'bench-pool' },
    spec: { cidr: POOL_CIDR, blockSize: 26, ...(vxlan ? { vxlanMode: 'Always' } : { ipipMode: 'Always' }) } });
  const modeOf = () => maps.routes.get(routeKey(blockCidr(o.blocksPerNode)))?.mode;
  const poolSource = path.join(o.manifests, fs.readdirSync(o.manifests).sort()[0]!);
  for (let round = 0; round < o.rounds; round++) {
    await timedEvent('node added', [replace('extra-node.json', nodeDoc)], () => blockInMap(maps.routes, firstBlock));
    await timedEvent('node removed', [{ type: 'remove', source: { id: 'extra-node.json', order: [1, 'extra-node.json'] } }], () => !blockInMap(maps.routes, firstBlock));
    await timedEvent('block added', [replace('extra-block.json', oneBlock)], () => blockInMap(maps.routes, oneBlockKey));
    await timedEvent('block removed', [{ type: 'remove', source: { id: 'extra-block.json', order: [1, 'extra-block.json'] } }], () => !blockInMap(maps.routes, oneBlockKey));
    // The pool lives in the first file (00-pool.* or the one YAML): replace the pool document alone
    // by giving the pool its own source that comes first, then going back.
    if (round === 0) {
      // The pool is defined once; move it to a source of its own so flipping rewrites one small file.
      await movePoolToOwnSource(engine, target, poolSource);
    }
    await timedEvent('pool mode flipped', [replace('/0-pool.json', poolDoc(true))], () => modeOf() === 2);
    await timedEvent('pool mode flipped back', [replace('/0-pool.json', poolDoc(false))], () => modeOf() === 1);
  }
  const resyncMs: number[] = [];
  const resyncCpuMs: number[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const c = cpuMs();
    const t = now();
    const drift = await engine.resync(target);
    const r = await engine.flush(target, { uplink: UPLINK });
    resyncMs.push(now() - t);
    resyncCpuMs.push(cpuMs() - c);
    if (drift.routes + drift.peers + drift.config !== 0 || r.changes !== 0) throw new Error(`resync found drift: ${JSON.stringify(drift)}, ${r.changes} changes`);
  }
  // The raw baseline: every desired route, encoded beforehand, written in one batch into the
  // emptied map (then the map holds what the engine wrote, as before).
  const rawWriteMs: number[] = [];
  {
    const keys = [...engine.derived.routes.keys()];
    const kb = Buffer.alloc(keys.length * 8);
    const vb = Buffer.alloc(keys.length * burrowRoute.size);
    keys.forEach((k, i) => {
      writeRouteKey(k, kb, i * 8);
      engine.derived.routes.copyTo(k, vb, i * burrowRoute.size);
    });
    for (let round = 0; round < o.rounds; round++) {
      target.routes.deleteMany(kb, keys.length);
      const t = now();
      target.routes.setMany(kb, vb, keys.length);
      rawWriteMs.push(now() - t);
    }
  }
  const result: EngineChildResult = {
    routes: engine.derived.routes.size,
    peers: engine.derived.peers.size,
    coldMs,
    coldCpuMs,
    coldPhasesMs,
    rawWriteMs,
    eventMs,
    eventChanges,
    resyncMs,
    resyncCpuMs,
    rssAfterColdMiB,
    hwmAfterColdMiB,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
  };
  void cold;
  maps.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

/**
 * The benchmark's pool is in the first manifest file (with other resources in the one-YAML
 * layout). Re-reading that file for each flip would measure the parse of 16 MB, not the flip:
 * the pool is given a small source of its own (first in load order) and the big file is re-read
 * once without it — as an operator keeps pools in a file of their own.
 */
async function movePoolToOwnSource(engine: Engine, target: EngineTarget, file: string): Promise<void> {
  const text = fs.readFileSync(file, 'utf8');
  const docs = [...parseManifestDocuments(text, file)];
  const isPool = (d: (typeof docs)[number]) => 'value' in d && (d.value as { kind?: string }).kind === 'IPPool';
  const pool = docs.find(isPool);
  if (!pool || !('value' in pool)) throw new Error(`no IPPool in ${file}`);
  engine.apply([
    { type: 'replace', source: { id: '/0-pool.json', order: [0, '/0-pool.json'] }, items: parseManifestDocuments(JSON.stringify(pool.value), '/0-pool.json') },
    { type: 'replace', source: { id: file, order: [0, file] }, items: docs.filter((d) => !isPool(d)) },
  ]);
  await engine.flush(target, { uplink: UPLINK });
}

await main();
