// `nft flush ruleset` — what Debian's `systemctl reload nftables` runs first — removes burrow's
// `ip burrow` table with the tunnel guard and natOutgoing in it. agentd watches for it
// (src/agent/nft-watch.ts, docs/operations.md "nftables reloads") and puts it back (~130 ms
// here, logged, not asserted: tests never fail on a timing), long before the periodic resync's
// kernel check (set to an hour here, so only the watch can be what repairs it; the repairing
// cycle's reason says so).
import { patient, sh, sleep } from '../../src/lab/sh.js';
import { tcpTransfer } from '../../src/lab/traffic.js';
import { labWithAgents } from '../helpers/lab.js';
import { privileged } from '../helpers/privileged.js';

const HOUR = String(3_600_000);

privileged.serial('nft flush ruleset in a node: agentd\'s table watch re-creates its table and pod → ext is NATed again; another table of the node is not touched', async (t) => {
  const { lab, agents } = await labWithAgents(t, {
    agents: ['node-a'],
    pool: { ipipMode: 'Always', natOutgoing: true },
    agent: { extraArgs: ['--resync', HOUR, '--route-refresh', HOUR] },
  });
  const a = lab.node('node-a');
  const pod = lab.pod('node-a');
  const ext = lab.topology.ext.address;
  const tables = () => sh(['ip', 'netns', 'exec', a.ns, 'nft', 'list', 'tables']);
  const ruleset = () => sh(['ip', 'netns', 'exec', a.ns, 'nft', 'list', 'table', 'ip', 'burrow']);
  const before = ruleset();
  t.regex(before, /masquerade/);
  t.is((await tcpTransfer(pod.ns, lab.extNs, ext, 64 << 10)).received.peer, a.address, 'NATed to the node address');

  for (const round of [1, 2]) {
    const from = agents['node-a']!.records.length;
    // As nftables.service's reload does: flush everything, load the node's own rules in one transaction.
    sh(['ip', 'netns', 'exec', a.ns, 'nft', '-f', '-'], { input: 'flush ruleset\ntable inet node_rules { chain input { type filter hook input priority 0; policy accept; }; }\n' });
    const t0 = Date.now();
    const flushed = tables();
    t.regex(flushed, /^table inet node_rules$/m, `round ${round}: nft lists the reload's own table (positive control)`);
    t.notRegex(flushed, /table ip burrow/, `round ${round}: flushed`);
    let back = -1;
    // A wait bound, not a speed claim: the hourly resync cannot be what brings it back in a minute.
    while (Date.now() - t0 < patient(60_000)) {
      if (/table ip burrow/.test(tables())) {
        back = Date.now() - t0;
        break;
      }
      await sleep(20);
    }
    t.log(`round ${round}: the ip burrow table was back ${back} ms after nft flush ruleset`);
    t.true(back >= 0, `round ${round}: the table is back`);
    const repaired = await agents['node-a']!.waitFor((r) => r.msg === 'reconciled' && typeof r.reason === 'string' && r.reason.startsWith('nft table ip burrow removed'), patient(60_000), from);
    t.like(repaired, { outcome: 'ok' });
    t.true((repaired.drift as number) >= 1, 'counted as drift');
    t.is(ruleset(), before, `round ${round}: the same rules, guard and NAT`);
    t.regex(tables(), /table inet node_rules/, `round ${round}: the node's own table stays`);
    const x = await tcpTransfer(pod.ns, lab.extNs, ext, 64 << 10);
    t.true(x.ok);
    t.is(x.received.peer, a.address, `round ${round}: NATed again`);
  }
});
