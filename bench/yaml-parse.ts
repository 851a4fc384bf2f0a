/**
 * Issue 9: one multi-document YAML of 5,000 Nodes × 20 BlockAffinities (one resource per
 * document, `---` separated, as calicoctl writes it) plus one IPPool 10.0.0.0/8 ipipMode Always:
 * 105,001 documents, ~16 MB. Each variant runs in its own process (so its peak RSS is its own),
 * `--rounds` times, interleaved; reported: median wall time of the measured part, its CPU time (the
 * machine may be shared) and median peak RSS (of the whole process: the text itself is ~17 MiB).
 *
 *   node dist/bench/yaml-parse.js [--rounds N] [--nodes N] [--blocks-per-node N] [--profile DIR] [--keep]
 *
 * variants:
 *   read        the baseline: read the file, nothing else (its RSS is the floor of the others)
 *   yaml        what parseManifestText did before: `yaml` parseAllDocuments, then toJS each
 *   js-yaml     js-yaml load per document (split at the `---` lines), CORE_SCHEMA
 *   documents   parseManifestDocuments, consumed lazily (each value dropped after use)
 *   text        parseManifestText: every document's value kept
 *   load        loadManifests: read, parse, schema, resolve, cross-checks (agentctl validate)
 *
 * --profile DIR: also a V8 CPU profile of `load` (node --cpu-prof), summarised by function.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_SCHEMA, load as jsYamlLoad } from 'js-yaml';
import { parseAllDocuments, stringify } from 'yaml';
import { loadManifests } from '../src/config/index.js';
import { parseManifestDocuments, parseManifestText } from '../src/config/documents.js';
import { median } from './measure.js';
import { blockManifests, nodeManifest, POOL_CIDR } from './scale-manifests.js';

const VARIANTS = ['read', 'yaml', 'js-yaml', 'documents', 'text', 'load'] as const;
type Variant = (typeof VARIANTS)[number];

interface ChildResult {
  variant: Variant;
  ms: number;
  /** CPU time of the process over the same part (user + system, all threads: GC included), ms. */
  cpuMs: number;
  documents: number;
  maxRssMiB: number;
  ok?: boolean;
}

/** The file: the pool, then every Node, then every BlockAffinity, one per document. */
export function writeBigManifest(file: string, nodes: number, blocksPerNode: number): { documents: number; bytes: number } {
  const fd = fs.openSync(file, 'w');
  let documents = 0;
  let first = true;
  const put = (value: object) => {
    fs.writeSync(fd, (first ? '' : '---\n') + stringify(value));
    first = false;
    documents++;
  };
  try {
    put({ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'bench-pool' }, spec: { cidr: POOL_CIDR, blockSize: 26, ipipMode: 'Always' } });
    for (let i = 0; i < nodes; i++) put(nodeManifest(i));
    for (let i = 0; i < nodes; i++) for (const b of blockManifests(i, blocksPerNode)) put(b);
  } finally {
    fs.closeSync(fd);
  }
  return { documents, bytes: fs.statSync(file).size };
}

/** The `yaml`-library-only reading parseManifestText had before issue 9. */
function parseWithYamlLibrary(text: string): unknown[] {
  const values: unknown[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

function parseWithJsYaml(text: string): unknown[] {
  const values: unknown[] = [];
  for (const part of text.split(/^---[ \t]*\r?\n/m)) {
    const value = jsYamlLoad(part, { schema: CORE_SCHEMA });
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

async function runChild(variant: Variant, file: string): Promise<ChildResult> {
  const cpu = (since: NodeJS.CpuUsage) => {
    const u = process.cpuUsage(since);
    return (u.user + u.system) / 1000;
  };
  const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  if (variant === 'load') {
    const r = await loadManifests(file);
    const documents = r.ok ? r.model.pools.length + r.model.nodes.length + r.model.blocks.length : -r.errors.length;
    return { variant, ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: cpu(c0), documents, maxRssMiB: maxRssMiB(), ok: r.ok };
  }
  const text = fs.readFileSync(file, 'utf8');
  if (variant === 'read') return { variant, ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: cpu(c0), documents: 0, maxRssMiB: maxRssMiB() };
  // The parse alone (reading the file is the `read` variant's figure).
  const t1 = process.hrtime.bigint();
  const c1 = process.cpuUsage();
  let documents = 0;
  if (variant === 'yaml') documents = parseWithYamlLibrary(text).length;
  else if (variant === 'js-yaml') documents = parseWithJsYaml(text).length;
  else if (variant === 'text') documents = parseManifestText(text, file).documents.length;
  else for (const item of parseManifestDocuments(text, file)) if (!('error' in item)) documents++;
  return { variant, ms: Number(process.hrtime.bigint() - t1) / 1e6, cpuMs: cpu(c1), documents, maxRssMiB: maxRssMiB() };
}

function spawnChild(variant: Variant, file: string, nodeArgs: string[] = []): ChildResult {
  const out = execFileSync(process.execPath, [...nodeArgs, fileURLToPath(import.meta.url), '--child', variant, file], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

// ----------------------------------------------------------------------------------------------
// CPU profile summary: self time by function, and inclusive time of the functions that matter.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export function summariseProfile(file: string, top = 25): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^file:\/\//, '');
    const where = url ? `${path.relative(process.cwd(), url)}:${n.callFrame.lineNumber + 1}` : '';
    return `${n.callFrame.functionName || '(anonymous)'} ${where}`.trim();
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!;
    self.set(name(leaf), (self.get(name(leaf)) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = name(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  });
  const rows = (m: Map<string, number>, n: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => `${(us / 1000).toFixed(0).padStart(8)} ms  ${k}`).join('\n');
  return `self time:\n${rows(self, top)}\n\ninclusive time:\n${rows(inclusive, top + 15)}`;
}

// ----------------------------------------------------------------------------------------------

function option(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(`${JSON.stringify(await runChild(args[1] as Variant, args[2]!))}\n`);
    return;
  }
  const rounds = option(args, '--rounds', 3);
  const nodes = option(args, '--nodes', 5000);
  const blocksPerNode = option(args, '--blocks-per-node', 20);
  const profileAt = args.indexOf('--profile');
  const profileDir = profileAt >= 0 ? path.resolve(args[profileAt + 1]!) : undefined;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-yaml-parse-'));
  const file = path.join(dir, 'big.yaml');
  try {
    const { documents, bytes } = writeBigManifest(file, nodes, blocksPerNode);
    console.log(`${file}: ${documents} documents, ${(bytes / 1e6).toFixed(1)} MB (${nodes} nodes × ${blocksPerNode} blocks + 1 pool); ${rounds} rounds, node ${process.version}`);
    const results = new Map<Variant, ChildResult[]>(VARIANTS.map((v) => [v, []]));
    for (let r = 0; r < rounds; r++) for (const v of VARIANTS) results.get(v)!.push(spawnChild(v, file)); // interleaved
    console.log('\nvariant      wall ms (median, min–max)   CPU ms (median)   peak RSS MiB (median)   documents / result');
    for (const v of VARIANTS) {
      const rs = results.get(v)!;
      const ms = rs.map((x) => x.ms);
      const extra = v === 'load' ? `ok=${rs[0]!.ok} (pools+nodes+blocks ${rs[0]!.documents})` : String(rs[0]!.documents);
      console.log(
        `${v.padEnd(12)} ${`${median(ms).toFixed(0)} (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)})`.padEnd(27)} ` +
          `${median(rs.map((x) => x.cpuMs)).toFixed(0).padStart(8)}          ${median(rs.map((x) => x.maxRssMiB)).toFixed(0).padStart(8)}                ${extra}`,
      );
    }
    if (profileDir) {
      fs.mkdirSync(profileDir, { recursive: true });
      const before = new Set(fs.readdirSync(profileDir));
      const r = spawnChild('load', file, ['--cpu-prof', '--cpu-prof-dir', profileDir]);
      const written = fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
      console.log(`\nprofile of load (${r.ms.toFixed(0)} ms under the profiler): ${path.join(profileDir, written[0] ?? '?')}\n`);
      if (written[0]) console.log(summariseProfile(path.join(profileDir, written[0])));
    }
  } finally {
    if (!args.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
