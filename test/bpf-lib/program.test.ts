// Program.run (BPF_PROG_TEST_RUN) on the library's fixture programs: output bytes, return values,
// the __sk_buff context in and out, repeat, live frames; and the verifier's refusal.
import {
  BpfMap, Collection, CollectionSpec, TcAction, VerifierError, XdpAction, array, checkStruct, perCpu,
  struct, sumPerCpu, u32, u64,
} from '../../src/bpf/index.js';
import { ipv4Frame, mac } from '../helpers/frames.js';
import { fixture } from '../helpers/paths.js';
import { privileged } from '../helpers/privileged.js';

// The leading fields of struct __sk_buff (linux/bpf.h); checked against the object's BTF below.
const skb = struct('__sk_buff', {
  len: u32, pkt_type: u32, mark: u32, queue_mapping: u32, protocol: u32, vlan_present: u32, vlan_tci: u32,
  vlan_proto: u32, priority: u32, ingress_ifindex: u32, ifindex: u32, tc_index: u32, cb: array(u32, 5),
});
const zeroSkb = {
  len: 0, pkt_type: 0, mark: 0, queue_mapping: 0, protocol: 0, vlan_present: 0, vlan_tci: 0, vlan_proto: 0,
  priority: 0, ingress_ifindex: 0, ifindex: 0, tc_index: 0, cb: [0, 0, 0, 0, 0],
};

const counter = struct('counter', { packets: u64, bytes: u64 });

let xdp: Collection;
let tc: Collection;
privileged.before(() => {
  xdp = Collection.load(fixture('lib_xdp'));
  tc = Collection.load(fixture('lib_tc'));
});
privileged.afterAlways(() => {
  xdp?.close();
  tc?.close();
});

const frame = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', payload: 32 });

privileged('xdp: the output frame is the input with the MACs swapped, verdict XDP_TX', (t) => {
  const r = xdp.program('xdp_swap_macs').run({ data: frame });
  t.is(r.retval, XdpAction.tx);
  t.is(r.data.length, frame.length);
  t.deepEqual(r.data.subarray(0, 6), mac('02:00:00:00:00:01'));
  t.deepEqual(r.data.subarray(6, 12), mac('02:00:00:00:00:02'));
  t.deepEqual(r.data.subarray(12), frame.subarray(12));
});

privileged('xdp: a program that grows the frame returns the longer output', (t) => {
  const r = xdp.program('xdp_push_tag').run({ data: frame });
  t.is(r.retval, XdpAction.pass);
  t.deepEqual(r.data, Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef]), frame]));
  const small = t.throws(() => xdp.program('xdp_push_tag').run({ data: frame, dataOutSize: frame.length }));
  t.is((small as { code?: string }).code, 'ENOSPC', 'an output buffer too small is reported, not truncated silently');
});

privileged('tc: context in and out, verdict from the mark, counters per mark slot', (t) => {
  const p = tc.program('tc_count');
  const counts = tc.map('tc_counts', u32, perCpu(counter));
  const before = sumPerCpu(counts.get(1) ?? []);
  const r = p.run({ data: frame, ctx: skb.encode({ ...zeroSkb, mark: 5 }), repeat: 3 });
  t.is(r.retval, TcAction.ok);
  const out = skb.decode(r.ctx ?? Buffer.alloc(0));
  t.is(out.mark, 5);
  t.is(out.cb[0], frame.length, 'skb->len seen by the program is the whole frame');
  t.is(out.cb[1], 5);
  const after = sumPerCpu(counts.get(1) ?? []);
  t.is(after.packets - before.packets, 3n, 'repeat 3 ran the program three times');
  t.is(after.bytes - before.bytes, BigInt(3 * frame.length));
  t.is(p.run({ data: frame, ctx: skb.encode({ ...zeroSkb, mark: 7 }) }).retval, TcAction.shot);
});

privileged('tc: the __sk_buff codec used above matches the kernel header (BTF, prefix)', (t) => {
  const spec = CollectionSpec.open(fixture('lib_tc'));
  t.teardown(() => spec.close());
  const btf = spec.btfStruct('__sk_buff');
  t.truthy(btf);
  if (btf) t.notThrows(() => checkStruct(skb, btf, 'lib_tc', { prefix: true }));
});

privileged('xdp live frames: the program really runs `repeat` times', (t) => {
  const hits = BpfMap.create({ type: 'array', key: u32, value: u64, maxEntries: 1 });
  t.teardown(() => hits.close());
  const c = Collection.load(fixture('lib_xdp'), { mapReplacements: { xdp_hits: hits } });
  t.teardown(() => c.close());
  const r = c.program('xdp_count_drop').run({ data: frame, repeat: 10, xdpLiveFrames: true });
  t.is(r.retval, 0, 'live-frame runs report no verdict');
  t.is(r.data.length, 0);
  t.is(hits.get(0), 10n);
});

privileged('program info: kernel name, tag, type and the ids of the maps it uses', (t) => {
  const p = xdp.program('xdp_count_drop');
  const info = p.info();
  t.is(info.name, 'xdp_count_drop');
  t.is(info.typeName, 'xdp');
  t.regex(info.tag, /^[0-9a-f]{16}$/);
  t.deepEqual(info.mapIds, [xdp.maps.xdp_hits!.info.id]);
  t.is(p.typeName, 'xdp');
});

privileged('a program the verifier rejects yields a VerifierError with the verifier log', (t) => {
  const e = t.throws(() => Collection.load(fixture('lib_reject')), { instanceOf: VerifierError });
  t.is(e.program, 'xdp_unchecked_read');
  t.is(e.code, 'EACCES');
  t.regex(e.verifierLog, /invalid access to packet/);
  t.regex(e.verifierLog, /processed \d+ insns/);
  t.regex(e.message, /xdp_unchecked_read/);
  t.regex(e.message, /invalid access to packet/, 'the summary says why');
  t.notRegex(e.message, /processed \d+ insns/, 'and leaves the statistics to verifierLog');
});
