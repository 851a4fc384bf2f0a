// Manifest builders and fixture paths shared by the config and compile tests. Not a test file
// (ava only runs *.test.js).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { formatDiagnostics, parseManifests, type ConfigDiagnostic, type ManifestSource, type Model } from '../../../src/config/index.js';

// dist/test/unit/config → repository root
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const fixture = (...parts: string[]): string => path.join(REPO, 'test/fixtures/manifests', ...parts);

const CALICO = 'projectcalico.org/v3';
type Spec = Record<string, unknown>;

export const node = (name: string, ipv4Address: string, spec: Spec = {}) => ({
  apiVersion: CALICO, kind: 'Node', metadata: { name }, spec: { bgp: { ipv4Address }, ...spec },
});
export const pool = (name: string, cidr: string, spec: Spec = {}) => ({
  apiVersion: CALICO, kind: 'IPPool', metadata: { name }, spec: { cidr, ...spec },
});
export const blockName = (nodeName: string, cidr: string): string => `${nodeName}-${cidr.replace(/[./:]/g, '-')}`;
export const block = (nodeName: string, cidr: string, spec: Spec = {}) => ({
  apiVersion: CALICO, kind: 'BlockAffinity', metadata: { name: blockName(nodeName, cidr) }, spec: { node: nodeName, cidr, ...spec },
});
export const felix = (spec: Spec, name = 'default') => ({
  apiVersion: CALICO, kind: 'FelixConfiguration', metadata: { name }, spec,
});
export const konvoy = (calico: Spec, apiVersion = 'konvoy.mesosphere.io/v1beta2') => ({
  kind: 'ClusterConfiguration', apiVersion, spec: { kubernetes: { containerNetworking: { calico } } },
});

export const yamlDocs = (...docs: unknown[]): string => docs.map((d) => YAML.stringify(d)).join('---\n');

/** The lab (docs/agentd.md, "The lab"): a and b share 10.0.1.0/24, c is on 10.0.2.0/24. */
export const LAB_NODES = [node('node-a', '10.0.1.10/24'), node('node-b', '10.0.1.11/24'), node('node-c', '10.0.2.10/24')];
export const LAB_BLOCKS = [
  block('node-a', '192.168.0.0/26'),
  block('node-b', '192.168.1.0/26'),
  block('node-c', '192.168.2.0/26'),
];

export interface LabOptions {
  poolSpec?: Spec;
  nodes?: unknown[];
  blocks?: unknown[];
  /** Further documents, appended to pools.yaml after the lab pool. */
  extraPools?: unknown[];
  /** Further files. */
  files?: Record<string, unknown[]>;
}

/** nodes.yaml, blocks.yaml and pools.yaml (lab-pool 192.168.0.0/16) as ManifestSources. */
export function lab(options: LabOptions = {}): ManifestSource[] {
  const files: Record<string, unknown[]> = {
    'nodes.yaml': options.nodes ?? LAB_NODES,
    'blocks.yaml': options.blocks ?? LAB_BLOCKS,
    'pools.yaml': [pool('lab-pool', '192.168.0.0/16', options.poolSpec ?? {}), ...(options.extraPools ?? [])],
    ...options.files,
  };
  return Object.entries(files).map(([file, docs]) => ({ file, text: yamlDocs(...docs) }));
}

export function modelOf(sources: ManifestSource[]): Model {
  const r = parseManifests(sources);
  if (!r.ok) throw new Error(`expected valid manifests, got:\n${formatDiagnostics(r.errors)}`);
  return r.model;
}

export function errorsOf(sources: ManifestSource[]): readonly ConfigDiagnostic[] {
  const r = parseManifests(sources);
  if (r.ok) throw new Error('expected the manifests to be rejected, but they were accepted');
  return r.errors;
}
