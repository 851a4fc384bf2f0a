// agentctl's surface: every command has --help with examples; usage errors exit 2 and name the
// flag; reading commands against a pin root with nothing pinned exit 3 and say where they looked.
import test from 'ava';

import { agentctl } from '../../helpers/agentctl.js';

const COMMANDS = [['validate'], ['compile'], ['plan'], ['apply'], ['maps'], ['maps', 'dump'], ['stats'], ['status'], ['trace']];

for (const cmd of COMMANDS) {
  test(`agentctl ${cmd.join(' ')} --help: exit 0, usage and examples`, async (t) => {
    const r = await agentctl([...cmd, '--help']);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, new RegExp(`^Usage: agentctl ${cmd.join(' ')} `));
    t.regex(r.stdout, /\nExamples:\n {2}agentctl /);
  });
}

test('the program help lists every command and the exit codes', async (t) => {
  const r = await agentctl(['--help']);
  t.is(r.code, 0);
  for (const c of ['validate', 'compile', 'plan', 'apply', 'maps', 'stats', 'status', 'trace']) t.regex(r.stdout, new RegExp(`^  ${c} `, 'm'));
  t.regex(r.stdout, /Exit codes:\n {2}0 {2}success\n {2}1 {2}invalid input/);
  t.regex(r.stdout, /--pin-root <dir>/);
});

test('trace --help warns that the test run moves the real counters', async (t) => {
  const r = await agentctl(['trace', '--help']);
  t.regex(r.stdout, /REAL maps: its packet moves the\s+live stats counters/);
});

test('unknown option or command: exit 2', async (t) => {
  t.is((await agentctl(['stats', '--bogus'])).code, 2);
  t.is((await agentctl(['frobnicate'])).code, 2);
  t.is((await agentctl(['plan', '--node', 'a'])).code, 2, 'a missing required option');
});

test('bad values are usage errors naming the flag, checked before any map is opened', async (t) => {
  const r = await agentctl(['--pin-root', '/nonexistent', 'trace', '--src', '10.0.0.300', '--dst', '192.168.2.7', '--proto', 'sctp', '--sport', '70000']);
  t.is(r.code, 2);
  t.deepEqual(r.stderr.trimEnd().split('\n').sort(), [
    'error: --proto: must be one of tcp, udp, icmp',
    'error: --sport: must be at most 65535',
    'error: --src: must be an IPv4 address like 10.0.1.10',
  ]);
  const egress = await agentctl(['--pin-root', '/nonexistent', 'trace', '--src', '192.168.0.5', '--dst', '192.168.2.7', '--xdp', '--outer-src', '10.0.2.10']);
  t.is(egress.code, 2);
  t.deepEqual(egress.stderr.trimEnd().split('\n').sort(), [
    'error: --outer-src: only with --hook ingress',
    'error: --xdp: only with --hook ingress (egress runs tc_encap)',
  ]);
  const dump = await agentctl(['--pin-root', '/nonexistent', 'maps', 'dump', 'neighbours']);
  t.is(dump.code, 2);
  t.regex(dump.stderr, /--map: must be one of routes, peers, config, stats/);
  const level = await agentctl(['--log-level', 'loud', '--pin-root', '/nonexistent', 'stats']);
  t.is(level.code, 2);
  t.regex(level.stderr, /--log-level: must be one of trace, debug/);
});

// compile and validate go through the same options parse as every command: a bad value is a usage
// error naming the flag (exit 2), before any manifest is read, and nothing reaches stdout.
for (const [args, lines] of [
  [['compile', '-f', 'test/fixtures/manifests/seeds/000-ippool-ipip-cross-subnet.yaml', 'test/fixtures/manifests/lab', '--node', 'node-a', '--uplink-mtu', '99999'], ['error: --uplink-mtu: must be at most 65535']],
  [['compile', '-f', 'test/fixtures/manifests/seeds/000-ippool-ipip-cross-subnet.yaml', 'test/fixtures/manifests/lab', '--node', 'node-a', '--uplink-mtu', '1500b', '-o', 'yaml'], [
    'error: --output: must be one of table, json',
    'error: --uplink-mtu: must be a whole number from 118 to 65535',
  ]],
  [['compile', '-f', 'test/fixtures/manifests/seeds/000-ippool-ipip-cross-subnet.yaml', 'test/fixtures/manifests/lab', '--node', 'node-a', '--uplink-mtu', '100'], ['error: --uplink-mtu: must be at least 118']],
  [['validate', '-f', 'test/fixtures/manifests/lab', '-o', 'yaml', '--log-level', 'loud'], [
    'error: --log-level: must be one of trace, debug, info, warn, error, fatal, silent',
    'error: --output: must be one of table, json',
  ]],
] as const) {
  test(`agentctl ${args.join(' ')}: exit 2, ${lines.length} usage line(s) naming the flag`, async (t) => {
    const r = await agentctl(args);
    t.is(r.code, 2, r.stderr);
    t.is(r.stdout, '');
    t.deepEqual(r.stderr.trimEnd().split('\n').sort(), [...lines]);
  });
}

for (const cmd of [['stats'], ['status'], ['maps', 'dump'], ['trace', '--src', '192.168.0.5', '--dst', '192.168.2.7']]) {
  test(`agentctl ${cmd[0]} with nothing pinned: exit 3 naming the pin root`, async (t) => {
    const r = await agentctl(['--pin-root', '/nonexistent/burrow', ...cmd]);
    t.is(r.code, 3);
    t.is(r.stdout, '');
    t.regex(r.stderr, /^error: no burrow datapath pinned at \/nonexistent\/burrow \(missing routes, peers, config, stats, pmtu, nexthops\)/);
  });
}
