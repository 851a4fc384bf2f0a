// `agentctl stats --help` lists every counter of enum burrow_stat once, in its group.
import test from 'ava';

import { burrowStatNames } from '../../../src/bpf/index.js';
import { counterGroupsHelp } from '../../../src/cli/commands/stats.js';

test('stats --help: every counter once, grouped (tunnelled, path MTU, left to the stack, dropped, MSS side counters)', (t) => {
  const help = counterGroupsHelp();
  const listed = help.split('\n').filter((l) => l.startsWith('    ')).flatMap((l) => l.trim().split(',').map((n) => n.trim()).filter(Boolean));
  t.deepEqual([...listed].sort(), [...burrowStatNames].sort(), help);
  t.regex(help, /path MTU[^\n]*:\n {4}pmtu_learned, drop_pmtu_forged, drop_pmtu_too_small, pass_pmtu\n/);
  t.regex(help, /MSS clamp \(side counters[^\n]*:\n {4}mss_clamped, mss_malformed/);
  t.true(help.split('\n').every((l) => l.length <= 92), help);
  t.regex(counterGroupsHelp(['encap_ipip', 'something_new']), /other:\n {4}something_new/, 'a counter no group claims is still listed');
});
