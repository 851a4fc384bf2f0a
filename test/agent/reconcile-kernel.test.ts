// Kernel routes and the nft table, reconciled by the real `agentctl apply` inside a throwaway
// network namespace that plays node-a (an uplink eth0 with 10.0.1.10/24, a tunnel device
// burrow0): `ip route` and `nft list` show exactly the desired state after each change, routes
// that are not burrow's (another proto) are never touched, and a stale burrow route goes.
import type { ExecutionContext } from 'ava';

import { agentctl, labManifests, manifestDir, type LabManifestOptions } from '../helpers/agentctl.js';
import { makePinDir } from '../helpers/bpffs.js';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.js';
import { privileged } from '../helpers/privileged.js';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
  metrics?: { mtu?: number }[];
  protocol?: string;
}

interface Node {
  ns: TestNetns;
  pinRoot: string;
  apply(lab: LabManifestOptions, ...extra: string[]): Promise<string>;
  burrowRoutes(): string[];
  natTable(): string | null;
}

function nodeA(t: ExecutionContext): Node {
  const ns = createNetns();
  const pins = makePinDir();
  const m = manifestDir();
  t.teardown(() => {
    ns.destroy(); // takes its routes, devices and nft tables with it
    pins.cleanup();
    m.cleanup();
  });
  addVeth(ns, 'eth0', 'eth0p');
  ns.ip('addr', 'add', '10.0.1.10/24', 'dev', 'eth0');
  addVeth(ns, 'burrow0', 'burrow0p');
  let n = 0;
  return {
    ns,
    pinRoot: pins.path,
    async apply(lab, ...extra) {
      const file = m.write(`lab-${n++}.yaml`, labManifests(lab));
      const r = await agentctl(['--pin-root', pins.path, 'apply', '-f', file, '--node', 'node-a', '--uplink', 'eth0', ...extra], { netns: ns.name });
      if (r.code !== 0) throw new Error(`agentctl apply exited ${r.code}: ${r.stderr}`);
      return r.stdout;
    },
    burrowRoutes() {
      const rows = JSON.parse(ns.ip('-j', '-4', 'route', 'show', 'proto', '211')) as IpRoute[];
      return rows.map((r) => [r.dst, r.gateway && `via ${r.gateway}`, r.dev && `dev ${r.dev}`, r.flags?.includes('onlink') && 'onlink', r.metrics?.[0]?.mtu && `mtu ${r.metrics[0].mtu}`].filter(Boolean).join(' '));
    },
    natTable() {
      try {
        return ns.exec('nft', 'list', 'table', 'ip', 'burrow');
      } catch (e) {
        // Only nft's own "no such table" means there is none; an nft that did not run is a failure.
        if (/^Error: No such file or directory/m.test(String((e as { stderr?: unknown }).stderr ?? ''))) return null;
        throw e;
      }
    },
  };
}

privileged.serial('apply sets the tunnel and direct routes (proto 211) and the natOutgoing table; a second apply changes nothing', async (t) => {
  const node = nodeA(t);
  node.ns.ip('route', 'add', '172.31.0.0/16', 'via', '10.0.1.1'); // someone else's route
  node.ns.ip('route', 'add', '192.168.9.0/26', 'via', '10.0.1.11', 'proto', '211'); // a stale burrow route

  const out = await node.apply({ pool: { ipipMode: 'CrossSubnet', natOutgoing: true } });
  const lines = out.split('\n');
  t.true(lines.includes('+ kernel-route 192.168.0.0/16 via 169.254.1.1 dev burrow0 onlink mtu 1480'), out);
  t.true(lines.includes('+ kernel-route 192.168.1.0/26 via 10.0.1.11 dev eth0'), out);
  t.true(lines.includes('+ nat masquerade 192.168.0.0/16 except 192.168.0.0/16'), out);
  t.true(lines.includes('- kernel-route 192.168.9.0/26 via 10.0.1.11 dev eth0'), out);
  t.true(lines.indexOf('- kernel-route 192.168.9.0/26 via 10.0.1.11 dev eth0') > lines.indexOf('+ nat masquerade 192.168.0.0/16 except 192.168.0.0/16'), 'deletes come last');

  // The pool into the tunnel device (one route, whatever the number of blocks); node-b's block, same subnet, direct.
  t.deepEqual(node.burrowRoutes(), ['192.168.0.0/16 via 169.254.1.1 dev burrow0 onlink mtu 1480', '192.168.1.0/26 via 10.0.1.11 dev eth0']);
  t.regex(node.ns.ip('-4', 'route', 'get', '192.168.2.7'), /dev burrow0/, 'node-c\'s pods: through the tunnel device');
  t.regex(node.ns.ip('-4', 'route', 'get', '192.168.1.7'), /via 10\.0\.1\.11 dev eth0/, 'node-b\'s pods: direct');
  t.regex(node.ns.ip('-4', 'route', 'show', '172.31.0.0/16'), /^172\.31\.0\.0\/16 via 10\.0\.1\.1 dev eth0/, 'a route of another proto is left alone');
  const table = node.natTable();
  t.truthy(table);
  t.regex(table!, /type nat hook postrouting priority srcnat; policy accept;/);
  t.regex(table!, /ip saddr 192\.168\.0\.0\/16 ip daddr != 192\.168\.0\.0\/16 masquerade comment "burrow-nat 192\.168\.0\.0\/16 [0-9a-f]{16}"/);
  t.is(table!.match(/masquerade/g)?.length, 1);
  // The tunnel guard: forwarded IPIP and VXLAN (from workloads) dropped into a named counter.
  t.true(lines.includes('+ nat burrow-guard ipip (drop forwarded tunnel packets: from workloads)'), out);
  t.true(lines.includes('+ nat burrow-guard vxlan 4789 (drop forwarded tunnel packets: from workloads)'), out);
  t.regex(table!, /counter drop_workload_tunnel \{/);
  t.regex(table!, /type filter hook forward priority filter; policy accept;/);
  t.regex(table!, /ip protocol ipencap counter name "drop_workload_tunnel" drop comment "burrow-guard ipip"/);
  t.regex(table!, /udp dport 4789 counter name "drop_workload_tunnel" drop comment "burrow-guard vxlan 4789"/);

  t.is(await node.apply({ pool: { ipipMode: 'CrossSubnet', natOutgoing: true } }), 'no changes\n');
  const plan = await agentctl(['--pin-root', node.pinRoot, 'plan', '-f', '/dev/null', '--node', 'node-a'], { netns: node.ns.name });
  t.is(plan.code, 1, 'plan with no manifests at all is invalid input');
});

privileged.serial('IPIP → VXLAN changes the pool route MTU in place; removing a node withdraws its map entry (the pool route stays) and natOutgoing the NAT chain; the guard follows the VXLAN port', async (t) => {
  const node = nodeA(t);
  await node.apply({ pool: { ipipMode: 'CrossSubnet', natOutgoing: true } });

  const vx = await node.apply({ pool: { ipipMode: 'Never', vxlanMode: 'CrossSubnet', natOutgoing: true } });
  t.deepEqual(vx.trimEnd().split('\n'), [
    '~ peer 10.0.2.10 modes ipip → vxlan',
    '~ route 192.168.2.0/26 mode ipip → vxlan, vni 0 → 4096, vtep 00:00:00:00:00:00 → 66:cc:00:00:00:0c',
    '~ kernel-route 192.168.0.0/16 mtu 1480 → 1450',
    'applied: 3 changes',
  ]);
  t.deepEqual(node.burrowRoutes(), ['192.168.0.0/16 via 169.254.1.1 dev burrow0 onlink mtu 1450', '192.168.1.0/26 via 10.0.1.11 dev eth0']);

  const gone = await node.apply({ pool: { ipipMode: 'Never', vxlanMode: 'CrossSubnet', natOutgoing: false }, nodes: ['node-a', 'node-b'] });
  t.deepEqual(gone.trimEnd().split('\n'), [
    '~ route 192.168.0.0/16 flags nat-outgoing,in-pool → in-pool',
    '~ route 192.168.0.0/26 flags nat-outgoing,in-pool,local → in-pool,local',
    '~ route 192.168.0.64/26 flags nat-outgoing,in-pool,local → in-pool,local',
    '~ route 192.168.1.0/26 flags nat-outgoing,same-subnet,in-pool → same-subnet,in-pool',
    '- nat burrow-nat 192.168.0.0/16 ' + /burrow-nat 192\.168\.0\.0\/16 ([0-9a-f]{16})/.exec(gone)![1],
    '- route 192.168.2.0/26 vxlan via 10.0.2.10 vni 4096 vtep 66:cc:00:00:00:0c',
    '- peer 10.0.2.10',
    'applied: 7 changes',
  ]);
  t.deepEqual(node.burrowRoutes(), ['192.168.0.0/16 via 169.254.1.1 dev burrow0 onlink mtu 1450', '192.168.1.0/26 via 10.0.1.11 dev eth0'], 'the pool still tunnels: its route stays');
  const table = node.natTable();
  t.notRegex(table ?? '', /postrouting|masquerade/, 'no NAT pool: no NAT chain (it would make the kernel track every connection)');
  t.regex(table ?? '', /comment "burrow-guard ipip"/, 'the tunnel guard stays');

  // A new VXLAN port moves the guard with it; the counter object stays.
  const port = await node.apply({ pool: { ipipMode: 'Never', vxlanMode: 'CrossSubnet', natOutgoing: false }, nodes: ['node-a', 'node-b'],
    extra: 'apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  vxlanPort: 8472' });
  t.deepEqual(port.trimEnd().split('\n').filter((l) => l.includes('nat')), [
    '+ nat burrow-guard vxlan 8472 (drop forwarded tunnel packets: from workloads)',
    '- nat burrow-guard vxlan 4789',
  ]);
  t.regex(node.natTable() ?? '', /udp dport 8472 counter name "drop_workload_tunnel" drop comment "burrow-guard vxlan 8472"/);
  t.notRegex(node.natTable() ?? '', /dport 4789/);
});

privileged.serial('--no-kernel leaves kernel routes and nft alone', async (t) => {
  const node = nodeA(t);
  node.ns.ip('route', 'add', '192.168.9.0/26', 'via', '10.0.1.11', 'proto', '211');
  const out = await node.apply({ pool: { ipipMode: 'CrossSubnet', natOutgoing: true } }, '--no-kernel');
  t.notRegex(out, /^[-+~] (kernel-route|nat) /m);
  t.regex(out, /^\+ route 192\.168\.2\.0\/26 ipip via 10\.0\.2\.10$/m);
  t.regex(out, /\(not compared: kernel routes, nat\)/);
  t.deepEqual(node.burrowRoutes(), ['192.168.9.0/26 via 10.0.1.11 dev eth0']);
  t.is(node.natTable(), null);
});
