// Running the real compiled agentctl (dist/src/cli/agentctl.js) as a child process, optionally
// inside a network namespace (`ip netns exec`), and writing lab manifests for it to read.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { repoRoot } from './paths.js';

export const agentctlEntry = path.join(repoRoot, 'dist/src/cli/agentctl.js');

export interface AgentctlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `agentctl ...args`; `netns`: inside `ip netns exec <netns>`. Never throws on a non-zero exit. */
export function agentctl(args: readonly string[], opts: { netns?: string; cwd?: string } = {}): Promise<AgentctlResult> {
  const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, process.execPath, agentctlEntry, ...args] : [process.execPath, agentctlEntry, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** JSON from a successful run, or a failure that shows stderr. */
export async function agentctlJson<T = unknown>(args: readonly string[], opts: { netns?: string } = {}): Promise<T> {
  const r = await agentctl(args, opts);
  if (r.code !== 0) throw new Error(`agentctl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

export const manifestFixture = (...parts: string[]): string => path.join(repoRoot, 'test/fixtures/manifests', ...parts);

export interface LabManifestOptions {
  /** IPPool spec fields, e.g. { ipipMode: 'CrossSubnet' } or { vxlanMode: 'Always' }. */
  pool?: Record<string, unknown>;
  /** Nodes of the lab to keep (default all three); their blocks go with them. */
  nodes?: readonly ('node-a' | 'node-b' | 'node-c')[];
  /** Extra documents appended as written (e.g. an invalid one). */
  extra?: string;
}

const LAB_NODES = {
  'node-a': { address: '10.0.1.10/24', blocks: ['192.168.0.0/26', '192.168.0.64/26'] },
  'node-b': { address: '10.0.1.11/24', blocks: ['192.168.1.0/26'] },
  'node-c': { address: '10.0.2.10/24', blocks: ['192.168.2.0/26'], mac: '66:cc:00:00:00:0c' },
} as const;

/** The lab's manifests as one YAML text (docs/agentd.md, "The lab"), with the pool and node set varied. */
export function labManifests(o: LabManifestOptions = {}): string {
  const pool = { cidr: '192.168.0.0/16', ipipMode: 'CrossSubnet', natOutgoing: true, ...(o.pool ?? {}) };
  const docs = [
    `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: lab-pool\nspec:\n${Object.entries(pool).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}`,
  ];
  for (const name of o.nodes ?? (['node-a', 'node-b', 'node-c'] as const)) {
    const n = LAB_NODES[name];
    docs.push(`apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: ${name}\nspec:\n  bgp:\n    ipv4Address: ${n.address}${'mac' in n ? `\n  vxlanTunnelMACAddr: ${n.mac}` : ''}`);
    for (const cidr of n.blocks) {
      docs.push(`apiVersion: projectcalico.org/v3\nkind: BlockAffinity\nmetadata:\n  name: ${name}-${cidr.replace(/[./]/g, '-')}\nspec:\n  node: ${name}\n  cidr: ${cidr}\n  state: confirmed`);
    }
  }
  if (o.extra) docs.push(o.extra);
  return docs.join('\n---\n') + '\n';
}

/** A temporary directory for manifests; removed by the returned cleanup. */
export function manifestDir(): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-manifests-'));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      return file;
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
