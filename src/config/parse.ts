// Manifest texts → Model, or every error found. Pure: file names and texts in, values out (the
// loader in load.ts is the only place that touches the file system). Never throws for a user's
// mistake: each one is a diagnostic with its file, document, resource and field path.
import { compareDiagnostics, type ConfigDiagnostic } from './diagnostics.js';
import {
  checkBlocks,
  checkFelixSwitches,
  checkNodeAddresses,
  checkNodesAgainstPools,
  checkPoolOverlaps,
  dropDuplicateNames,
  warnHostPrefixNodes,
} from './cross-check.js';
import { parseManifestDocuments, type RawDocument } from './documents.js';
import type { Block, Encapsulation, FelixSettings, IPPool, LoadResult, Model, Node } from './model.js';
import { compareNets, formatCidr } from './net.js';
import {
  resolveBlock,
  resolveFelix,
  resolveKonvoy,
  resolveNode,
  resolvePool,
  type Resolved,
  type ResolvedBlock,
  type ResolvedNode,
  type ResolvedPool,
} from './resolve.js';
import { classifyDocuments, type Classified, type Resource } from './resources.js';

export interface ManifestSource {
  /** The name diagnostics show (a path as the user gave it). */
  readonly file: string;
  readonly text: string;
}

type Of<K extends Resource['kind']> = Extract<Resource, { kind: K }>;

export function parseManifests(sources: readonly ManifestSource[]): LoadResult {
  const errors: ConfigDiagnostic[] = [];
  const warnings: ConfigDiagnostic[] = [];
  const report = (ds: readonly ConfigDiagnostic[]) => {
    for (const d of ds) (d.severity === 'error' ? errors : warnings).push(d);
  };
  const values = <T>(results: Resolved<T>[]): T[] => {
    const out: T[] = [];
    for (const r of results) {
      report(r.diagnostics);
      if (r.value !== undefined) out.push(r.value);
    }
    return out;
  };

  const { resources: all, rejected, diagnostics: documentDiagnostics } = classifySources(sources);
  report(documentDiagnostics);
  const { unique, diagnostics: duplicates } = dropDuplicateNames(all);
  report(duplicates);
  const of = <K extends Resource['kind']>(kind: K) => unique.filter((r): r is Of<K> => r.kind === kind);

  const konvoy = resolveKonvoy(of('ClusterConfiguration'));
  report(konvoy.diagnostics);
  const encapsulation = konvoy.value!.encapsulation;
  const pools = values(of('IPPool').map((r) => resolvePool(r, encapsulation)));
  const nodes = values(of('Node').map(resolveNode));
  const blocks = values(of('BlockAffinity').map(resolveBlock));
  const [felix] = values([resolveFelix(of('FelixConfiguration'), konvoy.value!)]);

  report(checkPoolOverlaps(pools));
  report(checkNodeAddresses(nodes));
  report(checkNodesAgainstPools(nodes, pools));
  const nodeNames = [...of('Node').map((n) => n.name), ...rejected.filter((r) => r.kind === 'Node').map((r) => r.name)];
  const everyPoolRead = !rejected.some((r) => r.kind === 'IPPool') && pools.length === of('IPPool').length;
  const { owners, diagnostics: blockDiagnostics } = checkBlocks({ blocks, pools, nodeNames, everyPoolRead });
  report(blockDiagnostics);
  report(checkFelixSwitches(felix!, pools));
  report(warnHostPrefixNodes(nodes, pools));

  warnings.sort(compareDiagnostics);
  if (errors.length > 0) return { ok: false, errors: inLoadOrder(errors, sources), warnings };

  return { ok: true, model: assembleModel(pools, nodes, blocks, owners, felix!.settings, encapsulation, warnings) };
}

/**
 * Every source's documents, classified; diagnostics in source order (a file's syntax errors, then
 * its resources' diagnostics). Documents are parsed one at a time and classified in batches, so a
 * file's raw document tree is never held whole next to the resources made from it; and nothing
 * is spread into push(...): a file of 130k documents would overflow the call stack.
 */
function classifySources(sources: readonly ManifestSource[]): Classified {
  const out: Classified = { resources: [], rejected: [], diagnostics: [] };
  const append = <T>(to: T[], from: readonly T[]) => {
    for (const x of from) to.push(x);
  };
  for (const source of sources) {
    const syntaxErrors: ConfigDiagnostic[] = [];
    const resourceDiagnostics: ConfigDiagnostic[] = [];
    let batch: RawDocument[] = [];
    const classifyBatch = () => {
      const classified = classifyDocuments(batch);
      append(resourceDiagnostics, classified.diagnostics);
      append(out.resources, classified.resources);
      append(out.rejected, classified.rejected);
      batch = [];
    };
    for (const item of parseManifestDocuments(source.text, source.file)) {
      if ('error' in item) syntaxErrors.push(item.error);
      else if (batch.push(item) === CLASSIFY_BATCH) classifyBatch();
    }
    classifyBatch();
    append(out.diagnostics, syntaxErrors);
    append(out.diagnostics, resourceDiagnostics);
  }
  return out;
}

/** Documents classified together: enough to amortise the call, few enough to drop their trees early. */
const CLASSIFY_BATCH = 256;

/** Sorted by name (pools, which also fixes their index) or network (blocks): never by load order. */
function assembleModel(
  pools: readonly ResolvedPool[],
  nodes: readonly ResolvedNode[],
  blocks: readonly ResolvedBlock[],
  owners: ReadonlyMap<ResolvedBlock, ResolvedPool>,
  felix: FelixSettings,
  defaultEncapsulation: Encapsulation,
  warnings: readonly ConfigDiagnostic[],
): Model {
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    pools: pools.map((p) => p.pool).sort(byName).map((p, index): IPPool => ({ ...p, index })),
    nodes: nodes.map((n): Node => n.node).sort(byName),
    blocks: blocks
      .filter((b) => b.active)
      .sort((a, b) => compareNets(a.net, b.net))
      .map((b): Block => ({ node: b.node, cidr: formatCidr(b.net), pool: owners.get(b)!.pool.name })),
    felix,
    defaultEncapsulation,
    warnings,
  };
}

/** Errors in the order the user reads the files: by source, then document (stable within). */
function inLoadOrder(errors: ConfigDiagnostic[], sources: readonly ManifestSource[]): ConfigDiagnostic[] {
  const rank = new Map<string, number>();
  sources.forEach((s, i) => { if (!rank.has(s.file)) rank.set(s.file, i); });
  return errors
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (rank.get(a.d.file) ?? -1) - (rank.get(b.d.file) ?? -1) || a.d.document - b.d.document || a.i - b.i)
    .map(({ d }) => d);
}
