// The tunnel pair's kernel settings (src/agent/tunnel-device.ts, docs/operations.md "Kernel
// settings"): written through /proc/sys (no sysctl binary: the image has none), put back when
// changed behind agentd's back, and a required one that cannot be written is an error that names
// the setting, the file and why — never silently skipped, as it was in a container without procps.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { procSysPath, tunnelQueues, tunnelSysctls } from '../../src/agent/tunnel-device.js';
import { repoRoot } from '../helpers/paths.js';
import { createNetns } from '../helpers/netns.js';
import { privileged } from '../helpers/privileged.js';
import test from 'ava';

const MODULE = path.join(repoRoot, 'dist/src/agent/tunnel-device.js');

/** ensureTunnelDevice('burrow0', 1480) in a fresh process inside `ns`, optionally behind a prefix (unshare …). */
function ensure(ns: string, prefix: string[] = []) {
  const script = `import(${JSON.stringify(MODULE)}).then((m) => m.ensureTunnelDevice('burrow0', 1480)).then((r) => console.log(JSON.stringify(r.changes)), (e) => { console.log(e.name + ': ' + e.message); process.exit(9); })`;
  return spawnSync('ip', ['netns', 'exec', ns, ...prefix, process.execPath, '-e', script], { encoding: 'utf8', timeout: 30_000 });
}

test('procSysPath: interface names with dots stay whole', (t) => {
  t.is(procSysPath('net.ipv4.conf.burrow0p.forwarding'), '/proc/sys/net/ipv4/conf/burrow0p/forwarding');
  t.is(procSysPath('net.ipv6.conf.eth0.100.disable_ipv6'), '/proc/sys/net/ipv6/conf/eth0.100/disable_ipv6');
  t.deepEqual(tunnelSysctls('burrow0').map((s) => [s.key, s.value, s.optional ?? false]), [
    ['net.ipv4.conf.burrow0p.forwarding', '0', false],
    ['net.ipv4.conf.burrow0.forwarding', '1', false],
    ['net.ipv4.conf.burrow0.rp_filter', '0', false],
    ['net.ipv6.conf.burrow0.disable_ipv6', '1', true],
    ['net.ipv6.conf.burrow0p.disable_ipv6', '1', true],
  ]);
});

privileged.serial('the tunnel pair\'s settings are written through /proc/sys, repaired when changed, and an unwritable /proc/sys is a clear error', (t) => {
  const ns = createNetns();
  t.teardown(() => ns.destroy());
  // A node that forwards, with rp_filter on: new devices inherit both, and burrow must undo them on its pair.
  ns.exec('sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.default.rp_filter=1', 'net.ipv4.conf.all.rp_filter=1');
  const read = (key: string) => ns.exec('sysctl', '-n', key).trim();

  const first = ensure(ns.name);
  t.is(first.status, 0, first.stdout + first.stderr);
  const changes = JSON.parse(first.stdout) as string[];
  t.true(changes.includes('net.ipv4.conf.burrow0p.forwarding 1 → 0'), first.stdout);
  t.true(changes.includes('net.ipv4.conf.burrow0.rp_filter 1 → 0'), first.stdout);
  t.is(read('net.ipv4.conf.burrow0p.forwarding'), '0');
  t.is(read('net.ipv4.conf.burrow0.rp_filter'), '0');
  t.is(read('net.ipv6.conf.burrow0.disable_ipv6'), '1');
  t.is(read('net.ipv6.conf.burrow0p.disable_ipv6'), '1');

  // tc_decap's GRO hop (docs/datapath.md, "VXLAN through the tunnel device's GRO"): GRO on the
  // device, TSO off on its peer, one queue per CPU on both.
  t.true(changes.includes('burrow0 gro on') && changes.includes('burrow0p tso off'), first.stdout);
  const feature = (dev: string, name: string) => new RegExp(`^\\s*${name}: (on|off)`, 'm').exec(ns.exec('ethtool', '-k', dev))?.[1];
  t.is(feature('burrow0', 'generic-receive-offload'), 'on');
  // What veth_skb_is_eligible_for_gro asks (NETIF_F_ALL_TSO); 6.18's tx-tcp-accecn-segmentation is not part of it.
  t.deepEqual(['tx-tcp-segmentation', 'tx-tcp-ecn-segmentation', 'tx-tcp-mangleid-segmentation', 'tx-tcp6-segmentation'].map((f) => feature('burrow0p', f)), ['off', 'off', 'off', 'off']);
  for (const dev of ['burrow0', 'burrow0p']) {
    const [link] = JSON.parse(ns.exec('ip', '-d', '-j', 'link', 'show', dev)) as Array<{ num_rx_queues: number; num_tx_queues: number }>;
    t.deepEqual([link!.num_rx_queues, link!.num_tx_queues], [tunnelQueues(), tunnelQueues()], `${dev}: one queue per CPU`);
  }

  const again = ensure(ns.name);
  t.deepEqual(JSON.parse(again.stdout), [], 'nothing to do the second time');

  ns.exec('ethtool', '-K', 'burrow0', 'gro', 'off');
  ns.exec('ethtool', '-K', 'burrow0p', 'tso', 'on');
  const offloads = ensure(ns.name);
  t.deepEqual(JSON.parse(offloads.stdout), ['burrow0 gro on', 'burrow0p tso off'], 'offloads changed behind its back: put back');

  ns.exec('sysctl', '-qw', 'net.ipv4.conf.burrow0p.forwarding=1');
  const repaired = ensure(ns.name);
  t.deepEqual(JSON.parse(repaired.stdout), ['net.ipv4.conf.burrow0p.forwarding 1 → 0'], 'changed behind its back: put back');

  // /proc/sys read-only, as in an unprivileged container: the required setting fails loudly.
  ns.exec('sysctl', '-qw', 'net.ipv4.conf.burrow0p.forwarding=1');
  const ro = ensure(ns.name, ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind -o ro /proc/sys /proc/sys && exec "$@"', 'sh']);
  t.is(ro.status, 9, ro.stdout + ro.stderr);
  t.regex(ro.stdout, /^TunnelSysctlError: cannot set net\.ipv4\.conf\.burrow0p\.forwarding=0: write \/proc\/sys\/net\/ipv4\/conf\/burrow0p\/forwarding: EROFS: \/proc\/sys is not writable here/);
  t.is(read('net.ipv4.conf.burrow0p.forwarding'), '1', 'and nothing pretended otherwise');
});
