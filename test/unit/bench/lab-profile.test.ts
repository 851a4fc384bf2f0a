// bench §4's profile (bench/lab-profile.ts): reading `perf report` text and grouping functions.
// The report lines are in the format perf 6.1 prints for
// `perf report --stdio --no-children -n --sort comm,sym -F sample,comm,sym -t '\t'`.
import test from 'ava';

import { groupOf, GROUP, parsePerfReport } from '../../../bench/lab-profile.js';

const REPORT = [
  '# To display the perf.data header info, please use --header/--header-only options.',
  '#',
  "# Samples: 47K of event 'cpu-clock:ppp'",
  '#      Samples\tCommand        \tSymbol',
  ' 9001       \tswapper        \t[k] pvm_safe_halt_hc',
  ' 12         \tswapper        \t[k] default_idle_call',
  ' 9          \tswapper        \t[k] net_rx_action',
  ' 300        \tudp_blast      \t[k] bpf_prog_402e85d944e3ae9d_tc_encap',
  ' 10         \tksoftirqd/1    \t[k] bpf_prog_402e85d944e3ae9d_tc_encap',
  ' 5          \tudp_blast      \t[k] bpf_prog_0123456789abcdef_tc_encap',
  ' 120        \tudp_blast      \t[k] trie_lookup_elem',
  ' 44         \tudp_blast      \t[k] pskb_expand_head',
  ' 3          \tnode           \t[.] Builtins_Add_Baseline',
  ' 21         \tnode           \t[k] trie_lookup_elem',
  ' 35         \tperf           \t[k] pskb_expand_head',
  ' 7          \tudp_blast      \t[k] __kmalloc_node_track_caller_noprof',
  '',
].join('\n');

test("parsePerfReport: the packet path's samples by function; idle, other processes and BPF tags left out", (t) => {
  const m = parsePerfReport(REPORT);
  t.deepEqual(Object.fromEntries(m), {
    net_rx_action: 9,
    bpf_prog_tc_encap: 315,
    trie_lookup_elem: 120,
    pskb_expand_head: 44,
    __kmalloc_node_track_caller_noprof: 7,
  });
});

test('parsePerfReport: header and blank lines only → nothing', (t) => {
  t.is(parsePerfReport('# Samples: 0\n#\n\n').size, 0);
});

const GROUPED: ReadonlyArray<readonly [string, string]> = [
  ['bpf_prog_tc_encap', 'BPF programs (their own instructions)'],
  ['trie_lookup_elem', 'BPF map lookups'],
  ['lookup_nulls_elem_raw', 'BPF map lookups'],
  ['bpf_skb_adjust_room', 'BPF helpers, program entry'],
  ['pskb_expand_head', 'headroom: reallocating the packet'],
  ['nft_do_chain', 'netfilter hooks (nftables, bridge netfilter)'],
  ['ipip_gro_receive', 'GRO'],
  ['inet_gro_receive', 'GRO'],
  ['br_handle_frame', "the lab's bridge (the wire between the nodes)"],
  ['veth_xmit', 'device transmit and receive (veth, queues, softirq)'],
  ['ip_forward', 'IP forwarding, routing, neighbours'],
  ['__rcu_read_lock', 'kernel plumbing (RCU, interrupts off/on, clocks, user copies, locks)'],
  ['udp_sendmsg', 'UDP and the sending socket'],
  ['Builtins_Add_Baseline', GROUP.other],
];

test('groupOf: the groups the report budgets by', (t) => {
  for (const [fn, group] of GROUPED) t.is(groupOf(fn), group, fn);
});
