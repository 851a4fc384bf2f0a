// Manifests for a lab: the Nodes, BlockAffinities and FelixConfiguration its topology implies,
// plus the pool (or Konvoy ClusterConfiguration) a scenario chooses. Each node's agentd watches
// its own manifests directory; `writeLabManifests` writes every node's copy, each file atomically
// (write to a dot-file, then rename), so a watcher never reads half a file.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

import type { Lab } from './lab.js';
import type { LabTopology } from './topology.js';

export type EncapModeValue = 'Always' | 'CrossSubnet' | 'Never';

export interface PoolSpec {
  name?: string;
  cidr?: string;
  ipipMode?: EncapModeValue;
  vxlanMode?: EncapModeValue;
  natOutgoing?: boolean;
}

export function poolManifest(p: PoolSpec, topology?: LabTopology): string {
  const spec: Record<string, unknown> = { cidr: p.cidr ?? topology?.podCidr ?? '192.168.0.0/16' };
  if (p.ipipMode) spec.ipipMode = p.ipipMode;
  if (p.vxlanMode) spec.vxlanMode = p.vxlanMode;
  if (p.natOutgoing !== undefined) spec.natOutgoing = p.natOutgoing;
  return stringify({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: p.name ?? 'lab-pool' }, spec });
}

export function konvoyManifest(encapsulation: 'ipip' | 'vxlan'): string {
  return stringify({
    kind: 'ClusterConfiguration',
    apiVersion: 'konvoy.mesosphere.io/v1beta2',
    spec: { kubernetes: { containerNetworking: { calico: { encapsulation } } } },
  });
}

/** Nodes (with their segment's prefix length), block affinities and the Felix defaults. */
export function clusterManifests(topology: LabTopology, felix: Record<string, unknown> = {}): Record<string, string> {
  const prefix = new Map(topology.segments.map((s) => [s.name, s.cidr.split('/')[1]]));
  const nodes = topology.nodes.map((n) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: n.name },
    spec: { bgp: { ipv4Address: `${n.address}/${n.name === topology.loopbackSource?.node ? 32 : prefix.get(n.segment)}` } },
  }));
  const blocks = topology.nodes.map((n) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BlockAffinity',
    metadata: { name: `${n.name}-${n.block.replace(/[./]/g, '-')}` },
    spec: { node: n.name, cidr: n.block, state: 'confirmed' },
  }));
  const docs = (items: object[]) => items.map((i) => stringify(i)).join('---\n');
  return {
    '10-nodes.yaml': docs(nodes),
    '20-blocks.yaml': docs(blocks),
    '30-felix.yaml': stringify({ apiVersion: 'projectcalico.org/v3', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: felix }),
  };
}

function writeAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Makes each listed node's manifests directory hold exactly `files` (name → text): changed files
 * are replaced atomically, files not listed are removed. Default: every node of the lab.
 */
export function writeLabManifests(lab: Lab, files: Record<string, string>, nodes: readonly string[] = [...lab.nodes.keys()]): void {
  for (const name of nodes) {
    const dir = lab.node(name).manifestsDir;
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) {
      const target = path.join(dir, file);
      let old: string | undefined;
      try {
        old = fs.readFileSync(target, 'utf8');
      } catch {
        old = undefined;
      }
      if (old !== text) writeAtomic(target, text);
    }
    for (const existing of fs.readdirSync(dir)) {
      if (!existing.startsWith('.') && !(existing in files)) fs.rmSync(path.join(dir, existing), { force: true });
    }
  }
}

/** The cluster manifests of `lab` plus one pool (or extra documents), for every node. */
export function labManifests(lab: Lab, extra: Record<string, string>, felix: Record<string, unknown> = {}): Record<string, string> {
  return { ...clusterManifests(lab.topology, felix), ...extra };
}
