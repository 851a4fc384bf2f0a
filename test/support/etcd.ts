// A real etcd (Debian's etcd-server, installed by scripts/setup.sh) for the datastore tests: a
// throwaway data directory and two free loopback ports; stop() and start() again on the same
// data (an outage), destroy() removes everything. Not a fake: the tests talk gRPC to etcd itself.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { Etcd3 } from 'etcd3';

import { parseManifestText } from '../../src/config/index.js';
import { CALICO_IPAM_PREFIX, CALICO_V3_PREFIX } from '../../src/engine/etcd-source.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const OPS = path.join(path.dirname(new URL(import.meta.url).pathname), 'etcd-ops.js');

export interface TestEtcdOptions {
  /** Run etcd inside this network namespace (a lab node's), listening on `host`. */
  netns?: string;
  host?: string;
}

export type EtcdOp = { put: string; value: string } | { delete: string } | { get: string };

/** An IPv4 block affinity's key as Calico's IPAM writes it (src/engine/etcd-source.ts reads it). */
export const affinityKey = (node: string, cidr: string): string => `${CALICO_IPAM_PREFIX}host/${node}/ipv4/block/${cidr.replace('/', '-')}`;
/** The value calico-node 3.30+ writes for a confirmed affinity. */
export const AFFINITY_CONFIRMED = '{"state":"confirmed","deleted":false}';
const PLURAL: Record<string, string> = { IPPool: 'ippools', Node: 'nodes', FelixConfiguration: 'felixconfigurations' };

/** Manifest texts → the etcd writes calicoctl and Calico's IPAM would make for them. */
export function etcdOpsFor(texts: readonly string[]): EtcdOp[] {
  const ops: EtcdOp[] = [];
  for (const text of texts) {
    for (const doc of parseManifestText(text, 'lab.yaml').documents) {
      const r = doc.value as { kind: string; metadata: { name: string }; spec: { node?: string; cidr?: string } };
      if (r.kind === 'BlockAffinity') ops.push({ put: affinityKey(r.spec.node!, r.spec.cidr!), value: AFFINITY_CONFIRMED });
      else if (PLURAL[r.kind]) ops.push({ put: `${CALICO_V3_PREFIX}${PLURAL[r.kind]}/${r.metadata.name}`, value: JSON.stringify(r) });
    }
  }
  return ops;
}

export class TestEtcd {
  private child: ChildProcess | undefined;
  private constructor(
    readonly dir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    readonly opts: TestEtcdOptions,
  ) {}

  static async create(opts: TestEtcdOptions = {}): Promise<TestEtcd> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-test-etcd-'));
    const e = new TestEtcd(dir, await freePort(), await freePort(), opts);
    await e.start();
    return e;
  }

  get endpoint(): string {
    return `http://${this.opts.host ?? '127.0.0.1'}:${this.clientPort}`;
  }

  /** Puts, deletes and gets through a client in etcd's namespace (or here). */
  ops(list: readonly EtcdOp[]): (string | null)[] {
    const argv = [...(this.opts.netns ? ['ip', 'netns', 'exec', this.opts.netns] : []), process.execPath, OPS, this.endpoint, JSON.stringify(list)];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`etcd ops failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as (string | null)[];
  }

  client(): Etcd3 {
    return new Etcd3({ hosts: [this.endpoint], dialTimeout: 2000 });
  }

  async start(): Promise<void> {
    const peer = `http://${this.opts.host ?? '127.0.0.1'}:${this.peerPort}`;
    const argv = [...(this.opts.netns ? ['ip', 'netns', 'exec', this.opts.netns] : []), 'etcd'];
    const child = spawn(argv[0]!, [...argv.slice(1),
      '--name', 'burrow-test', '--data-dir', path.join(this.dir, 'data'),
      '--listen-client-urls', this.endpoint, '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `burrow-test=${peer}`,
      '--log-level', 'error',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    this.child = child;
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`etcd exited ${child.exitCode}: ${stderr}`);
      try {
        this.ops([{ get: '/health-probe' }]);
        return;
      } catch {
        if (i > 50) throw new Error(`etcd did not answer on ${this.endpoint}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }

  /**
   * SIGKILL, back only once the process is dead (its sockets closed): for a test that stops etcd
   * from inside a synchronous callback, so that the very next request fails.
   */
  killNow(): void {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.pid === undefined) return;
    child.kill('SIGKILL');
    for (let i = 0; i < 2000; i++) {
      let state: string | undefined;
      try {
        state = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.[0];
      } catch {
        return; // reaped
      }
      if (state === 'Z' || state === 'X') return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
    throw new Error(`etcd (pid ${child.pid}) did not die within 10 s of SIGKILL`);
  }

  async destroy(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
