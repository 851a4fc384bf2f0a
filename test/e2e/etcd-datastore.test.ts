// Issue 10's etcd scenario on the lab: a real etcd (Debian's etcd-server) runs in node-a's
// namespace on its underlay address, the three nodes' agentd read Calico's etcd layout from it
// (--datastore etcdv3). A node and its block written to etcd → every node routes to it; deleted →
// withdrawn; etcd stopped for 10 s under a 100/s ping → nothing lost, nothing changed; etcd back
// → the agents relist and change nothing.
import { Lab } from '../../src/lab/lab.js';
import { startAgent, type LabAgent } from '../../src/lab/agents.js';
import { clusterManifests, poolManifest } from '../../src/lab/manifests.js';
import { patient, sh, sleep } from '../../src/lab/sh.js';
import { ping, startPing } from '../../src/lab/traffic.js';
import { privileged } from '../helpers/privileged.js';
import { AFFINITY_CONFIRMED, affinityKey, etcdOpsFor, TestEtcd } from '../support/etcd.js';
import { until } from '../helpers/wait.js';
import { tunnelRemote } from '../helpers/lab.js';
import { agentctlJson } from '../helpers/agentctl.js';
import type { StatusView } from '../../src/cli/views.js';

const V3 = '/calico/resources/v3/projectcalico.org';

const burrowRoutes = (lab: Lab, node: string) => sh(['ip', '-n', lab.node(node).ns, 'route', 'show', 'proto', '211']);


privileged.serial('etcdv3 datastore: three agentd follow one real etcd; a node added and removed in etcd; a 10 s etcd outage loses nothing and changes nothing', async (t) => {
  const lab = Lab.create();
  t.teardown(() => lab.destroy());
  const a = lab.node('node-a');
  const etcd = await TestEtcd.create({ netns: a.ns, host: a.address });
  t.teardown(() => etcd.destroy());
  const cluster = clusterManifests(lab.topology);
  etcd.ops(etcdOpsFor([poolManifest({ ipipMode: 'Always' }, lab.topology), ...Object.values(cluster)]));

  const names = [...lab.nodes.keys()];
  const agents: Record<string, LabAgent> = {};
  await Promise.all(names.map(async (n) => (agents[n] = await startAgent(lab, n, { ...(n === 'node-a' ? { listen: '127.0.0.1:9436' } : {}), extraArgs: ['--datastore', 'etcdv3', '--etcd-endpoints', etcd.endpoint] }))));
  t.is((await ping(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 3, interval: 0.05 })).received, 3, 'pods talk across the tunnel');

  // A node joins: its Node and its block affinity appear in etcd.
  const d = { name: 'node-d', address: '10.0.2.20', block: '192.168.3.0/26' };
  etcd.ops([
    { put: `${V3}/nodes/${d.name}`, value: JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: d.name }, spec: { bgp: { ipv4Address: `${d.address}/24` } } }) },
    { put: affinityKey(d.name, d.block), value: AFFINITY_CONFIRMED },
  ]);
  for (const n of names) await until(`${n} tunnels node-d's block to it`, () => tunnelRemote(lab, n, d.block) === d.address);
  etcd.ops([{ delete: affinityKey(d.name, d.block) }, { delete: `${V3}/nodes/${d.name}` }]);
  for (const n of names) await until(`${n} withdraws node-d`, () => tunnelRemote(lab, n, d.block) !== d.address);

  // An object that fails its own rules is skipped and shown by `agentctl status --agent`; fixed, it is gone from the list.
  const agentView = async () => (await agentctlJson<StatusView>(['--pin-root', a.pinRoot, 'status', '--agent', '127.0.0.1:9436', '-o', 'json'], { netns: a.ns })).agent!;
  const badKey = `${V3}/nodes/node-e`;
  etcd.ops([{ put: badKey, value: JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-e' }, spec: { bgp: { ipv4Address: '10.0.2.300/24' } } }) }]);
  await until('node-a reports the skipped Node', async () => (await agentView()).skippedCount === 1);
  const skipped = await agentView();
  t.is(skipped.status, 'ok', 'a skipped object does not make the node unhealthy');
  t.deepEqual(skipped.datastore && { kind: skipped.datastore.kind, connected: skipped.datastore.connected }, { kind: 'etcdv3', connected: true });
  t.deepEqual(Object.keys(skipped.skippedObjects ?? {}), [badKey]);
  t.regex(skipped.skippedObjects![badKey]!, /10\.0\.2\.300/);
  etcd.ops([{ delete: badKey }]);
  await until('node-a forgets the skipped Node once it is deleted', async () => (await agentView()).skippedCount === undefined);

  // Outage: etcd away for 10 s under a 100/s ping.
  const before = Object.fromEntries(names.map((n) => [n, burrowRoutes(lab, n)]));
  const marks = Object.fromEntries(names.map((n) => [n, agents[n]!.records.length]));
  const run = startPing(lab.pod('node-a').ns, lab.pod('node-c').address, { count: 1300, interval: 0.01, wait: 1 });
  await sleep(1000);
  await etcd.stop();
  await sleep(10_000);
  for (const n of names) t.is(burrowRoutes(lab, n), before[n]!, `${n}: nothing withdrawn while etcd is away`);
  await etcd.start();
  const result = await run.done;
  t.log(`etcd outage: ${result.transmitted - result.received} of ${result.transmitted} lost`);
  t.true(result.transmitted >= 1200);
  t.is(result.received, result.transmitted, 'no packet lost');
  for (const n of names) {
    const agent = agents[n]!;
    await agent.waitFor((r) => r.msg === 'datastore away: the datapath keeps forwarding with the last known state', 1000, marks[n]!);
    await agent.waitFor((r) => r.msg === 'datastore back: resynced', patient(30_000), marks[n]!);
    t.is(burrowRoutes(lab, n), before[n]!, `${n}: nothing changed after the relist`);
  }
});
