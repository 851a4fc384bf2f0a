// Issue 10's Kubernetes datastore on the lab, against the FAKE API server (test/support/
// fake-apiserver.ts: a test double speaking the real list/watch wire protocol, because no
// kube-apiserver can be installed here). It runs in node-a's namespace on its underlay address;
// the three nodes' agentd read Calico's CRDs and the Nodes' projectcalico.org annotations from it
// (--datastore kubernetes --kubeconfig), exactly as the DaemonSet does with nothing but Calico's
// datastore to read. A node and its BlockAffinity added → every node routes to it; deleted →
// withdrawn; history compacted and watches cut (410 Expired) → relist, later changes still arrive.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { startAgent, type LabAgent } from '../../src/lab/agents.js';
import { Lab } from '../../src/lab/lab.js';
import { patient, sh, sleep } from '../../src/lab/sh.js';
import { ping } from '../../src/lab/traffic.js';
import { privileged } from '../helpers/privileged.js';
import { until } from '../helpers/wait.js';
import { tunnelRemote } from '../helpers/lab.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../support/fake-apiserver-cli.js');
const NODES = '/api/v1/nodes';
const POOLS = '/apis/crd.projectcalico.org/v1/ippools';
const AFFINITIES = '/apis/crd.projectcalico.org/v1/blockaffinities';

const k8sNode = (name: string, address: string) => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name }, annotations: { 'projectcalico.org/IPv4Address': address } },
  spec: {},
});
const affinity = (node: string, cidr: string) => ({
  apiVersion: 'crd.projectcalico.org/v1', kind: 'BlockAffinity',
  metadata: { name: `${node}-${cidr.replace(/[./]/g, '-')}` },
  spec: { state: 'confirmed', node, cidr, deleted: 'false' },
});

/** The fake API server as a child process in `ns`, driven line by line. */
async function startFake(ns: string, host: string): Promise<{ kubeconfig: string; send(c: object): Promise<void>; stop(): Promise<void> }> {
  const child: ChildProcessWithoutNullStreams = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, host]);
  const lines = readline.createInterface({ input: child.stdout });
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  lines.on('line', (l) => (waiters.length ? waiters.shift()!(l) : queue.push(l)));
  const next = () => new Promise<string>((resolve, reject) => {
    if (queue.length) return resolve(queue.shift()!);
    const timer = setTimeout(() => reject(new Error('fake API server: no answer')), patient(10_000));
    waiters.push((l) => { clearTimeout(timer); resolve(l); });
  });
  const { kubeconfig } = JSON.parse(await next()) as { kubeconfig: string };
  return {
    kubeconfig,
    async send(c) {
      child.stdin.write(`${JSON.stringify(c)}\n`);
      const answer = await next();
      if (answer !== 'ok') throw new Error(`fake API server: ${answer}`);
    },
    async stop() {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    },
  };
}

const burrowRoutes = (lab: Lab, node: string) => sh(['ip', '-n', lab.node(node).ns, 'route', 'show', 'proto', '211']);


privileged.serial('kubernetes datastore (fake API server): three agentd follow Calico\'s CRDs and Node annotations; add, delete, 410 relist', async (t) => {
  const lab = Lab.create();
  t.teardown(() => lab.destroy());
  const a = lab.node('node-a');
  const fake = await startFake(a.ns, a.address);
  t.teardown(() => fake.stop());
  const prefix = new Map(lab.topology.segments.map((s) => [s.name, s.cidr.split('/')[1]]));
  await fake.send({ op: 'put', collection: POOLS, object: { apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name: 'default-ipv4-ippool' }, spec: { cidr: lab.topology.podCidr, ipipMode: 'Always', blockSize: 26 } } });
  for (const n of lab.topology.nodes) {
    await fake.send({ op: 'put', collection: NODES, object: k8sNode(n.name, `${n.address}/${prefix.get(n.segment)}`) });
    await fake.send({ op: 'put', collection: AFFINITIES, object: affinity(n.name, n.block) });
  }
  const names = [...lab.nodes.keys()];
  const agents: Record<string, LabAgent> = {};
  await Promise.all(names.map(async (n) => (agents[n] = await startAgent(lab, n, { extraArgs: ['--datastore', 'kubernetes', '--kubeconfig', fake.kubeconfig] }))));
  t.is((await ping(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 3, interval: 0.05 })).received, 3, 'pods talk across the tunnel');

  await fake.send({ op: 'put', collection: NODES, object: k8sNode('node-d', '10.0.2.20/24') });
  await fake.send({ op: 'put', collection: AFFINITIES, object: affinity('node-d', '192.168.3.0/26') });
  for (const n of names) await until(`${n} tunnels node-d's block to it`, () => tunnelRemote(lab, n, '192.168.3.0/26') === '10.0.2.20');
  await fake.send({ op: 'delete', collection: AFFINITIES, name: 'node-d-192-168-3-0-26' });
  await fake.send({ op: 'delete', collection: NODES, name: 'node-d' });
  for (const n of names) await until(`${n} withdraws node-d`, () => tunnelRemote(lab, n, '192.168.3.0/26') !== '10.0.2.20');

  // History compacted and every watch cut: the informers get 410 Expired, relist, and follow on.
  await fake.send({ op: 'compact' });
  await fake.send({ op: 'dropWatches' });
  await fake.send({ op: 'put', collection: NODES, object: k8sNode('node-e', '10.0.2.30/24') });
  await fake.send({ op: 'put', collection: AFFINITIES, object: affinity('node-e', '192.168.4.0/26') });
  for (const n of names) await until(`${n} tunnels to node-e after the relist`, () => tunnelRemote(lab, n, '192.168.4.0/26') === '10.0.2.30', patient(30_000));
  t.is((await ping(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 3, interval: 0.05 })).received, 3);
});
