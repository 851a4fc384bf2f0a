// The next-hop keeper's pure parts (src/agent/nexthops.ts): reading iproute2's JSON, the plan
// from routes + links + neighbours, and which `ip monitor` lines matter. The outputs below are
// what iproute2 6.1 printed in a scratch namespace (docs/datapath.md, "Next hops").
import test from 'ava';

import { chooseManaged, eventKind, isUsable, neighbourKey, parseNeighbourEvent, parseLinks, parseNeighbours, parseRouteGets, planNexthops, type LinkFacts, type NeighbourFacts, type RouteToPeer } from '../../../src/agent/nexthops.js';

const ROUTE_GETS = [
  '[{"type":"unicast","dst":"10.99.0.2","from":"10.99.0.1","dev":"eth0","table":"main","flags":[],"uid":0,"cache":[]}]',
  '[{"type":"unicast","dst":"10.60.1.1","from":"10.99.0.1","gateway":"10.99.0.254","dev":"eth0","table":"main","flags":[],"uid":0,"cache":[],"metrics":[{"mtu":1300}]}]',
  '[{"type":"unicast","dst":"10.70.0.9","gateway":"10.99.0.254","dev":"eth0","table":"main","flags":[],"uid":0,"cache":["expires 590sec"],"metrics":[{"mtu":1400}]}]',
  '[{"type":"local","dst":"10.99.0.1","dev":"lo","table":"local","flags":[],"uid":0,"cache":["local"]}]',
  '',
].join('\n');

test('route gets: one array per line that succeeded, by dst; a route\'s own MTU, not a learned exception\'s', (t) => {
  const routes = parseRouteGets(ROUTE_GETS);
  t.deepEqual(routes.get('10.99.0.2'), { type: 'unicast', dev: 'eth0' });
  t.deepEqual(routes.get('10.60.1.1'), { type: 'unicast', dev: 'eth0', gateway: '10.99.0.254', mtu: 1300 });
  t.deepEqual(routes.get('10.70.0.9'), { type: 'unicast', dev: 'eth0', gateway: '10.99.0.254' }, 'a PMTU exception (cache expires) is not the route\'s MTU');
  t.is(routes.get('10.99.0.1')?.type, 'local');
  t.is(routes.size, 4);
});

test('links: ifindex, MTU, and a MAC only for Ethernet devices', (t) => {
  const links = parseLinks(JSON.stringify([
    { ifindex: 1, ifname: 'lo', mtu: 65536, link_type: 'loopback', address: '00:00:00:00:00:00' },
    { ifindex: 2, ifname: 'eth0', mtu: 1500, link_type: 'ether', address: '3e:3f:1e:36:4a:52' },
    { ifindex: 7, ifname: 'wg0', mtu: 1420, link_type: 'none' },
  ]));
  t.deepEqual(links.get('eth0'), { ifindex: 2, mtu: 1500, mac: '3e:3f:1e:36:4a:52' });
  t.deepEqual(links.get('lo'), { ifindex: 1, mtu: 65536 });
  t.deepEqual(links.get('wg0'), { ifindex: 7, mtu: 1420 });
});

test('neighbours: by device and address, with states, managed and protocol', (t) => {
  const n = parseNeighbours(JSON.stringify([
    { dst: '10.99.0.2', dev: 'eth0', lladdr: '66:10:a9:62:05:b4', managed: null, state: ['REACHABLE'], protocol: '211' },
    { dst: '10.99.0.3', dev: 'eth0', managed: null, state: ['INCOMPLETE'], protocol: '211' },
    { dst: '10.99.0.254', dev: 'eth0', lladdr: '02:00:00:00:00:fe', state: ['STALE'] },
  ]));
  t.deepEqual(n.get(neighbourKey('eth0', '10.99.0.2')), { lladdr: '66:10:a9:62:05:b4', states: ['REACHABLE'], managed: true, protocol: '211' });
  t.deepEqual(n.get(neighbourKey('eth0', '10.99.0.3')), { states: ['INCOMPLETE'], managed: true, protocol: '211' });
  t.deepEqual(n.get(neighbourKey('eth0', '10.99.0.254')), { lladdr: '02:00:00:00:00:fe', states: ['STALE'], managed: false });
});

const LINKS = new Map<string, LinkFacts>([
  ['eth0', { ifindex: 2, mtu: 1500, mac: '02:00:00:00:00:01' }],
  ['eth1', { ifindex: 3, mtu: 9000, mac: '02:00:00:00:00:02' }],
  ['burrow0', { ifindex: 9, mtu: 1480, mac: '02:00:00:00:00:09' }],
  ['wg0', { ifindex: 7, mtu: 1420 }],
]);

test('plan: the neighbour\'s MAC and the device\'s MAC, MTU and ifindex; none until resolved; next hops made managed once', (t) => {
  const routes = new Map<string, RouteToPeer | null>([
    ['10.0.1.11', { type: 'unicast', dev: 'eth0' }],
    ['10.0.2.10', { type: 'unicast', dev: 'eth0', gateway: '10.0.1.1' }],
    ['10.0.2.11', { type: 'unicast', dev: 'eth0', gateway: '10.0.1.1', mtu: 1300 }],
    ['10.0.3.10', { type: 'unicast', dev: 'eth1' }],
    ['10.0.4.10', { type: 'unicast', dev: 'eth0' }],
    ['10.0.5.10', null],
    ['10.0.6.10', { type: 'unicast', dev: 'burrow0' }],
    ['10.0.7.10', { type: 'unicast', dev: 'wg0' }],
    ['10.0.8.10', { type: 'blackhole', dev: 'lo' }],
    ['10.0.9.10', { type: 'unicast', dev: 'eth1' }],
  ]);
  const neighbours = new Map<string, NeighbourFacts>([
    [neighbourKey('eth0', '10.0.1.11'), { lladdr: '02:00:00:00:0b:01', states: ['REACHABLE'], managed: true, protocol: '211' }],
    [neighbourKey('eth0', '10.0.1.1'), { lladdr: '02:00:00:00:01:01', states: ['STALE'], managed: false }],
    [neighbourKey('eth1', '10.0.3.10'), { lladdr: '02:00:00:00:03:01', states: ['PERMANENT'], managed: false }],
    [neighbourKey('eth0', '10.0.4.10'), { states: ['INCOMPLETE'], managed: true, protocol: '211' }],
    [neighbourKey('eth1', '10.0.9.10'), { lladdr: '02:00:00:00:09:01', states: ['FAILED'], managed: true, protocol: '211' }],
  ]);
  const plan = planNexthops(routes.keys(), routes, LINKS, neighbours, new Set(['burrow0', 'burrow0-p']));
  t.deepEqual(Object.fromEntries(plan.entries), {
    '10.0.1.11': { ifindex: 2, dmac: '02:00:00:00:0b:01', smac: '02:00:00:00:00:01', mtu: 1500 },
    '10.0.2.10': { ifindex: 2, dmac: '02:00:00:00:01:01', smac: '02:00:00:00:00:01', mtu: 1500 },
    '10.0.2.11': { ifindex: 2, dmac: '02:00:00:00:01:01', smac: '02:00:00:00:00:01', mtu: 1300 },
    '10.0.3.10': { ifindex: 3, dmac: '02:00:00:00:03:01', smac: '02:00:00:00:00:02', mtu: 9000 },
  });
  t.deepEqual(plan.manage, [{ address: '10.0.1.1', dev: 'eth0' }], 'the gateway once (two peers use it); a permanent entry and managed ones are left alone');
  t.deepEqual(Object.fromEntries(plan.waiting), {
    '10.0.4.10': 'neighbour 10.0.4.10 on eth0 incomplete',
    '10.0.5.10': 'no route',
    '10.0.6.10': 'routed into burrow0',
    '10.0.7.10': 'wg0 has no Ethernet address',
    '10.0.8.10': 'a blackhole route',
    '10.0.9.10': 'neighbour 10.0.9.10 on eth1 failed',
  });
  t.deepEqual(Object.fromEntries(plan.hops), {
    '10.0.1.11': neighbourKey('eth0', '10.0.1.11'), '10.0.2.10': neighbourKey('eth0', '10.0.1.1'), '10.0.2.11': neighbourKey('eth0', '10.0.1.1'),
    '10.0.3.10': neighbourKey('eth1', '10.0.3.10'), '10.0.4.10': neighbourKey('eth0', '10.0.4.10'), '10.0.9.10': neighbourKey('eth1', '10.0.9.10'),
  }, 'each peer with a route to an Ethernet device: its next hop, which neighbour events are matched against');
  t.true(plan.used.has(neighbourKey('eth0', '10.0.1.1')) && plan.used.has(neighbourKey('eth1', '10.0.3.10')));
});

test('plan: an unknown neighbour is made managed and waited for; an MTU over 65535 is held at the field\'s limit', (t) => {
  const routes = new Map<string, RouteToPeer | null>([['10.0.1.11', { type: 'unicast', dev: 'big' }]]);
  const links = new Map<string, LinkFacts>([['big', { ifindex: 4, mtu: 65536, mac: '02:00:00:00:00:04' }]]);
  const none = planNexthops(['10.0.1.11'], routes, links, new Map(), new Set());
  t.deepEqual(none.manage, [{ address: '10.0.1.11', dev: 'big' }]);
  t.is(none.waiting.get('10.0.1.11'), 'neighbour 10.0.1.11 on big unknown');
  const resolved = planNexthops(['10.0.1.11'], routes, links,
    new Map([[neighbourKey('big', '10.0.1.11'), { lladdr: '02:00:00:00:0b:01', states: ['DELAY'], managed: true }]]), new Set());
  t.is(resolved.entries.get('10.0.1.11')?.mtu, 0xffff);
  t.deepEqual(resolved.manage, []);
});

test('monitor lines: neighbours, routes and links that may move a peer; IPv6, the local table and burrow\'s own routes do not', (t) => {
  const cases: Array<[string, ReturnType<typeof eventKind>]> = [
    ['[NEIGH]10.99.0.2 dev nhva lladdr f2:59:5c:37:83:8c REACHABLE ', 'neighbour'],
    ['[NEIGH]10.99.0.2 dev nhva lladdr f2:59:5c:37:83:8c managed REACHABLE proto 211 ', 'neighbour'],
    ['[NEIGH]Deleted 10.99.0.2 dev nhva lladdr f2:59:5c:37:83:8c STALE ', 'neighbour'],
    ['[NEIGH]fe80::1 dev eth0 lladdr f2:59:5c:37:83:8c router STALE ', undefined],
    ['[ROUTE]10.97.0.0/16 via 10.98.0.7 dev va ', 'route'],
    ['[ROUTE]Deleted default via 10.0.1.1 dev eth0 ', 'route'],
    ['[ROUTE]local 10.98.0.1 dev va table local proto kernel scope host src 10.98.0.1 ', undefined],
    ['[ROUTE]fe80::/64 dev va proto kernel metric 256 pref medium', undefined],
    ['[ROUTE]192.168.0.0/16 via 169.254.1.1 dev burrow0 proto 211 onlink mtu 1480 ', undefined],
    ['[ROUTE]192.168.1.0/26 via 169.254.1.1 dev burrow0 proto 212 onlink mtu lock 1380 ', undefined],
    ['[LINK]3: va@vb: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default', 'route'],
    ['[ADDR]3: va    inet 10.98.0.1/24 scope global va', undefined],
    ['10.99.0.2 dev nhva lladdr f2:59:5c:37:83:8c REACHABLE', undefined],
  ];
  for (const [line, kind] of cases) t.is(eventKind(line), kind, line);
});

test('neighbour events: the key and what the neighbour is now; deleted; IPv6 and Miss lines are none', (t) => {
  // Lines as iproute2 6.1 printed them (`ip -o monitor label neigh`) for a managed and a kernel-made entry.
  t.deepEqual(parseNeighbourEvent('[NEIGH]10.9.0.7 dev d0 lladdr 02:00:00:00:00:07 managed REACHABLE proto 211 '),
    { key: neighbourKey('d0', '10.9.0.7'), facts: { lladdr: '02:00:00:00:00:07', states: ['REACHABLE'], managed: true, protocol: '211' } });
  t.deepEqual(parseNeighbourEvent('[NEIGH]10.9.0.5 dev d0 managed FAILED proto 211 '),
    { key: neighbourKey('d0', '10.9.0.5'), facts: { states: ['FAILED'], managed: true, protocol: '211' } });
  t.deepEqual(parseNeighbourEvent('[NEIGH]10.9.0.6 dev d0 lladdr 02:00:00:00:00:06 router STALE'),
    { key: neighbourKey('d0', '10.9.0.6'), facts: { lladdr: '02:00:00:00:00:06', states: ['STALE'], managed: false } });
  t.deepEqual(parseNeighbourEvent('[NEIGH]Deleted 10.9.0.6 dev d0 FAILED '), { key: neighbourKey('d0', '10.9.0.6'), facts: null });
  t.is(parseNeighbourEvent('[NEIGH]Miss 10.9.0.6 dev d0 '), undefined);
  t.is(parseNeighbourEvent('[NEIGH]fe80::1 dev d0 lladdr 02:00:00:00:00:06 router STALE'), undefined);
  t.is(parseNeighbourEvent('[ROUTE]10.97.0.0/16 via 10.98.0.7 dev va '), undefined);
  t.true(isUsable(parseNeighbourEvent('[NEIGH]10.9.0.6 dev d0 lladdr 02:00:00:00:00:06 STALE')!.facts!));
  t.false(isUsable(parseNeighbourEvent('[NEIGH]10.9.0.5 dev d0 managed FAILED proto 211')!.facts!));
});

test('managed neighbours: within the room, resolved ones first, resting ones only when their time is up or they resolved', (t) => {
  const hop = (address: string) => ({ address, dev: 'eth0' });
  const candidates = [hop('10.0.0.1'), hop('10.0.0.2'), hop('10.0.0.3'), hop('10.0.0.4')];
  const neighbours = new Map<string, NeighbourFacts>([
    [neighbourKey('eth0', '10.0.0.3'), { lladdr: '02:00:00:00:00:03', states: ['STALE'], managed: false }],
    [neighbourKey('eth0', '10.0.0.4'), { states: ['FAILED'], managed: false }],
  ]);
  const now = 1_000_000;
  t.deepEqual(chooseManaged(candidates, neighbours, 2, new Map(), now), [hop('10.0.0.3'), hop('10.0.0.1')]);
  t.deepEqual(chooseManaged(candidates, neighbours, 0, new Map(), now), []);
  t.deepEqual(chooseManaged(candidates, neighbours, -3, new Map(), now), []);
  const resting = new Map([
    [neighbourKey('eth0', '10.0.0.1'), { until: now + 1 }],
    [neighbourKey('eth0', '10.0.0.2'), { until: now }],
    [neighbourKey('eth0', '10.0.0.3'), { until: now + 60_000 }],
  ]);
  t.deepEqual(chooseManaged(candidates, neighbours, 10, resting, now), [hop('10.0.0.3'), hop('10.0.0.2'), hop('10.0.0.4')],
    'resting until later: left out unless resolved since');
});
