// `agentctl plan`, spawned for real, against a pin root where nothing is pinned: every entry is an
// addition, the text lines have their documented shape, the JSON has the Plan's shape, and
// invalid manifests or options fail before anything is read.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import test from 'ava';

import { agentctl, agentctlJson, labManifests, manifestDir, manifestFixture } from '../../helpers/agentctl.js';

const LAB = manifestFixture('lab');
const CROSS_SUBNET = manifestFixture('seeds/000-ippool-ipip-cross-subnet.yaml');
// A directory that exists but holds no pins (and is not bpffs): plan must not create anything.
const emptyPinRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-nopins-'));

interface PlanJson {
  node: string;
  pinned: boolean;
  changes: number;
  skipped: string[];
  routes: { add: { cidr: string; mode: string; remote: string; vni: number; vtepMac: string; flags: string[]; pool: number | null }[]; update: unknown[]; remove: unknown[] };
  peers: { add: { address: string; modes: string[]; vni: number }[]; update: unknown[]; remove: unknown[] };
  config: { before: unknown; after: Record<string, unknown>; fields: string[] } | null;
  kernelRoutes: { add: unknown[]; update: unknown[]; remove: unknown[] };
  nat: unknown;
}

test('nothing pinned: every route, peer and the config are additions, in make-before-break order', async (t) => {
  const root = emptyPinRoot();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const r = await agentctl(['--pin-root', root, 'plan', '-f', CROSS_SUBNET, LAB, '--node', 'node-a', '--no-kernel']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.deepEqual(lines.filter((l) => !l.startsWith('+ config')), [
    '+ peer 10.0.2.10 ipip',
    '+ route 192.168.0.0/16 none pool',
    '+ route 192.168.0.0/26 none local',
    '+ route 192.168.0.64/26 none local',
    '+ route 192.168.1.0/26 none via 10.0.1.11',
    '+ route 192.168.2.0/26 ipip via 10.0.2.10',
    '7 changes (not compared: kernel routes, nat)',
  ]);
  t.regex(lines[1]!, /^\+ config local-ip 10\.0\.1\.10, uplink-ifindex 0, .*vxlan-port 4789, ttl 64, default-vni 4096, uplink-mtu 1500, flags -, mss-ipip 1440, mss-vxlan 1410, gro-ifindex 0, tunnel-mac 00:00:00:00:00:00$/);
  t.deepEqual(fs.readdirSync(root), [], 'plan created nothing');
});

test('-o json: the Plan shape with decoded values', async (t) => {
  const root = emptyPinRoot();
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const p = await agentctlJson<PlanJson>(['--pin-root', root, 'plan', '-f', CROSS_SUBNET, LAB, '--node', 'node-a', '--no-kernel', '-o', 'json']);
  t.like(p, { node: 'node-a', pinned: false, changes: 7, skipped: ['kernelRoutes', 'nat'], nat: null });
  t.deepEqual(p.routes.add, [
    { cidr: '192.168.0.0/16', mode: 'none', remote: '0.0.0.0', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'in-pool'], pool: 0 },
    { cidr: '192.168.0.0/26', mode: 'none', remote: '10.0.1.10', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'in-pool', 'local'], pool: 0 },
    { cidr: '192.168.0.64/26', mode: 'none', remote: '10.0.1.10', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'in-pool', 'local'], pool: 0 },
    { cidr: '192.168.1.0/26', mode: 'none', remote: '10.0.1.11', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'same-subnet', 'in-pool'], pool: 0 },
    { cidr: '192.168.2.0/26', mode: 'ipip', remote: '10.0.2.10', vni: 0, vtepMac: '00:00:00:00:00:00', flags: ['nat-outgoing', 'in-pool'], pool: 0 },
  ]);
  t.deepEqual([p.routes.update, p.routes.remove, p.peers.update, p.peers.remove], [[], [], [], []]);
  t.deepEqual(p.peers.add, [{ address: '10.0.2.10', modes: ['ipip'], vni: 4096 }]);
  t.is(p.config?.before, null);
  t.like(p.config?.after, { localIp: '10.0.1.10', vxlanPort: 4789, ttl: 64, defaultVni: 4096, uplinkMtu: 1500 });
  t.is(p.config?.fields.length, 13);
  t.deepEqual(p.kernelRoutes, { add: [], update: [], remove: [] });
});

test('vxlan pool: routes carry the VNI and the remote VTEP MAC in both renderings', async (t) => {
  const root = emptyPinRoot();
  const m = manifestDir();
  t.teardown(() => {
    fs.rmSync(root, { recursive: true, force: true });
    m.cleanup();
  });
  const file = m.write('lab.yaml', labManifests({ pool: { ipipMode: 'Never', vxlanMode: 'Always' } }));
  const r = await agentctl(['--pin-root', root, 'plan', '-f', file, '--node', 'node-a', '--no-kernel']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^\+ route 192\.168\.2\.0\/26 vxlan via 10\.0\.2\.10 vni 4096 vtep 66:cc:00:00:00:0c$/m);
  t.regex(r.stdout, /^\+ peer 10\.0\.1\.11 vxlan vni 4096$/m);
});

test('invalid manifests: exit 1 with the diagnostic, nothing on stdout', async (t) => {
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  const file = m.write('lab.yaml', labManifests({ pool: { ipipMode: 'Always', vxlanMode: 'Always' } }));
  const r = await agentctl(['--pin-root', '/nonexistent', 'plan', '-f', file, '--node', 'node-a', '--no-kernel']);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.regex(r.stderr, new RegExp(`^${file.replace(/[.]/g, '\\.')}: document 1 \\(IPPool lab-pool\\): spec`, 'm'));
});

test('bad option values: exit 2, one line naming each flag', async (t) => {
  const r = await agentctl(['plan', '-f', LAB, '--node', 'node-a', '--uplink-mtu', '12', '-o', 'yaml']);
  t.is(r.code, 2);
  const lines = r.stderr.trimEnd().split('\n');
  t.true(lines.includes('error: --uplink-mtu: must be at least 118'), r.stderr);
  t.true(lines.includes('error: --output: must be one of table, json'), r.stderr);
});
