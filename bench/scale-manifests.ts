/**
 * Manifests for the control-plane benchmark: `nodes` Nodes (172.16.0.0/12, one subnet) with
 * `blocksPerNode` /26 blocks each from one IPIP pool 10.0.0.0/8 (262,144 blocks of /26), written
 * the way `kubectl get -o json` / `calicoctl get -o yaml` dump them: one NodeList and one
 * BlockAffinityList, JSON or YAML. The local node is node-0: every other node's block is a
 * tunnel route, so routes = (nodes − 1) × blocksPerNode.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

export interface ScaleSpec {
  nodes: number;
  blocksPerNode: number;
  format: 'json' | 'yaml';
}

export const LOCAL_NODE = 'node-0';
export const POOL_CIDR = '10.0.0.0/8';

export function nodeName(i: number): string {
  return `node-${i}`;
}

export function nodeAddress(i: number): string {
  const n = 0xac100000 + i + 1; // 172.16.0.1 + i
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The j-th /26 of the pool. */
export function blockCidr(j: number): string {
  const n = 0x0a000000 + j * 64;
  return `${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')}/26`;
}

export function nodeManifest(i: number): object {
  return { apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: nodeName(i) }, spec: { bgp: { ipv4Address: `${nodeAddress(i)}/12` } } };
}

export function blockManifests(i: number, blocksPerNode: number): object[] {
  return Array.from({ length: blocksPerNode }, (_, k) => {
    const cidr = blockCidr(i * blocksPerNode + k);
    return {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BlockAffinity',
      metadata: { name: `${nodeName(i)}-${cidr.replace(/[./]/g, '-')}` },
      spec: { node: nodeName(i), cidr, state: 'confirmed' },
    };
  });
}

function list(kind: string, items: object[]): object {
  return { apiVersion: 'projectcalico.org/v3', kind, items };
}

function write(file: string, value: object, format: ScaleSpec['format']): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.writeFileSync(tmp, format === 'json' ? JSON.stringify(value) : stringify(value));
  fs.renameSync(tmp, file);
}

/** Writes pool, felix, nodes and blocks for nodes [0, spec.nodes) into `dir`; returns the file names. */
export function writeScaleManifests(dir: string, spec: ScaleSpec): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const ext = spec.format;
  const ids = Array.from({ length: spec.nodes }, (_, i) => i);
  const files: Record<string, object> = {
    [`00-pool.${ext}`]: { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'bench-pool' }, spec: { cidr: POOL_CIDR, blockSize: 26, ipipMode: 'Always' } },
    [`10-nodes.${ext}`]: list('NodeList', ids.map(nodeManifest)),
    [`20-blocks.${ext}`]: list('BlockAffinityList', ids.flatMap((i) => blockManifests(i, spec.blocksPerNode))),
  };
  for (const [name, value] of Object.entries(files)) write(path.join(dir, name), value, spec.format);
  return Object.keys(files);
}

/**
 * The incremental change: node `extra` (with its blocks) added to, or removed from, the node and
 * block lists (rewritten whole, atomically, as a manifest sync would).
 */
export function writeNodeChange(dir: string, spec: ScaleSpec, nodes: number): void {
  const ext = spec.format;
  const ids = Array.from({ length: nodes }, (_, i) => i);
  write(path.join(dir, `10-nodes.${ext}`), list('NodeList', ids.map(nodeManifest)), spec.format);
  write(path.join(dir, `20-blocks.${ext}`), list('BlockAffinityList', ids.flatMap((i) => blockManifests(i, spec.blocksPerNode))), spec.format);
}

/**
 * Whether a remote block is in a pinned routes map: the LPM lookup of its CIDR names its node
 * (once the block's own entry is gone the pool's entry answers, with remote 0.0.0.0).
 */
export function blockInMap(routes: { get(key: { prefixlen: number; addr: string }): { remote: string } | undefined }, key: { prefixlen: number; addr: string }): boolean {
  const r = routes.get(key);
  return r !== undefined && r.remote !== '0.0.0.0';
}
