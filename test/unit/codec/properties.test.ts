// Properties of the model over generated scenarios (the same arbitraries the differential tests use).
import test from 'ava';
import fc from 'fast-check';
import {
  decap, encap, ETH_HLEN, macToBytes, findMssOption, ipv4HeaderChecksumValid, effectiveMssClamp, parseIpv4, parseUdp, STAT_NAMES, tcpChecksumValid, type StatName,
} from '../../../src/codec/index.js';
import { arbDecapScenario, arbEncapScenario, receivingNode } from '../../arbitraries/index.js';

const RUNS = { numRuns: 1500 };
const isPassCounter = (c: StatName) => c === 'PASS' || c.startsWith('PASS_');

test('property: encap then decap at the receiving node returns the inner packet behind the outer Ethernet header', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbEncapScenario(), (s) => {
    const sent = encap(s.frame, s.options);
    if (!sent.counter.startsWith('ENCAP_') || sent.route === undefined) return true;
    const receiver = receivingNode(s.config, sent.route, s.frame);
    const got = decap(sent.output, { ...receiver, hook: s.hook });
    const innerTtl = s.frame[ETH_HLEN + 8];
    if (innerTtl === 0) return got.counter === 'DROP_TTL';
    // tc_decap step 16: VXLAN goes to the tunnel device's peer, addressed to the tunnel device.
    const hop = s.hook === 'tc' && sent.mode === 'vxlan' && s.frame[ETH_HLEN + 9] === 6 && (receiver.config.groIfindex ?? 0) !== 0;
    const eth = sent.output.slice(0, ETH_HLEN);
    if (hop) eth.set(macToBytes(receiver.config.tunnelMac ?? '00:00:00:00:00:00'), 0);
    // The outer TOS is the inner one, so the RFC 6040 table leaves the inner ECN as it was.
    return got.counter === (sent.mode === 'ipip' ? 'DECAP_IPIP' : 'DECAP_VXLAN') &&
      got.verdict === (hop ? 'redirect' : 'pass') && got.redirectIfindex === (hop ? receiver.config.groIfindex : undefined) &&
      Buffer.from(got.output.subarray(0, ETH_HLEN)).equals(Buffer.from(eth)) &&
      // The inner packet as sent: the input, but for a clamped SYN's MSS (docs/datapath.md "MSS clamping").
      Buffer.from(got.output.subarray(ETH_HLEN)).equals(Buffer.from(sent.output.subarray(ETH_HLEN + (sent.mode === 'ipip' ? 20 : 50)))) &&
      (sent.also?.includes('MSS_CLAMPED') || Buffer.from(got.output.subarray(ETH_HLEN)).equals(Buffer.from(s.frame.subarray(ETH_HLEN))));
  }), RUNS));
});

test('property: encap output has a valid outer checksum, DF always, a source port in 32768–60999, the inner bytes intact (but a clamped MSS)', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbEncapScenario(), (s) => {
    const r = encap(s.frame, s.options);
    if (!r.counter.startsWith('ENCAP_')) return true;
    const overhead = r.mode === 'ipip' ? 20 : 50;
    const outer = parseIpv4(r.output, ETH_HLEN);
    const sport = r.mode === 'vxlan' ? parseUdp(r.output, ETH_HLEN + 20)?.sport ?? 0 : 32768;
    return ipv4HeaderChecksumValid(r.output, ETH_HLEN) && outer?.totalLength === r.output.length - ETH_HLEN &&
      outer.df && !outer.isFragment && (parseIpv4(s.frame, ETH_HLEN)?.df ? outer.id === 0 : outer.id === s.ipId) && sport >= 32768 && sport <= 60999 &&
      innerIntact(r.output.subarray(ETH_HLEN + overhead), s.frame.subarray(ETH_HLEN), r.also?.includes('MSS_CLAMPED') ?? false);
  }), RUNS));
});

/** Equal, or (clamped) different in at most 4 bytes: the MSS value and the TCP checksum. */
function innerIntact(out: Uint8Array, input: Uint8Array, clamped: boolean): boolean {
  let differ = 0;
  for (let i = 0; i < input.length; i++) if (out[i] !== input[i]) differ++;
  return out.length === input.length && (clamped ? differ >= 1 && differ <= 4 : differ === 0);
}

test('property: a clamped SYN leaves with an MSS no larger than the clamp and a valid TCP checksum if it had one', (t) => {
  let clamped = 0;
  t.notThrows(() => fc.assert(fc.property(arbEncapScenario(), (s) => {
    const r = encap(s.frame, s.options);
    if (!r.also?.includes('MSS_CLAMPED') || !r.mode) return true;
    clamped++;
    // The mode's clamp, lowered by a path MTU learned to the peer (the outer destination).
    const remote = [...r.output.subarray(ETH_HLEN + 16, ETH_HLEN + 20)].join('.');
    const clamp = effectiveMssClamp(s.config, r.mode, s.options.pmtu?.get(remote));
    const inner = r.output.slice(ETH_HLEN + (r.mode === 'ipip' ? 20 : 50) - ETH_HLEN);
    const ipIn = parseIpv4(s.frame, ETH_HLEN)!;
    const ipOut = parseIpv4(inner, ETH_HLEN)!;
    const l4 = ETH_HLEN + ipOut.headerLength;
    const optionsOut = inner.subarray(l4 + 20, l4 + ((inner[l4 + 12] ?? 0) >> 4) * 4);
    const at = findMssOption(optionsOut);
    const mss = ((optionsOut[at] ?? 0) << 8) | (optionsOut[at + 1] ?? 0);
    const segIn = s.frame.subarray(l4, ETH_HLEN + ipIn.totalLength);
    const segOut = inner.subarray(l4, ETH_HLEN + ipOut.totalLength);
    const wasValid = ETH_HLEN + ipIn.totalLength <= s.frame.length && tcpChecksumValid(segIn, ipIn.src, ipIn.dst);
    return at >= 0 && mss === clamp && (!wasValid || tcpChecksumValid(segOut, ipOut.src, ipOut.dst));
  }), { numRuns: 3000 }));
  t.true(clamped > 10, `clamped SYNs: ${clamped}`);
});

test('property: pass verdicts leave the frame unchanged (encap and decap)', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbEncapScenario(), arbDecapScenario(), (e, d) => {
    const er = encap(e.frame, e.options);
    const dr = decap(d.frame, d.options);
    const unchanged = (out: Uint8Array, input: Uint8Array) => Buffer.from(out).equals(Buffer.from(input));
    return (!isPassCounter(er.counter) || (er.verdict === 'pass' && unchanged(er.output, e.frame))) &&
      (!isPassCounter(dr.counter) || (dr.verdict === 'pass' && unchanged(dr.output, d.frame))) &&
      (er.verdict !== 'drop' || unchanged(er.output, e.frame)) && (dr.verdict !== 'drop' || unchanged(dr.output, d.frame));
  }), RUNS));
});

test('property: decap keeps a valid inner checksum valid, and changes at most the inner TOS ECN bits and checksum', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbDecapScenario(), (s) => {
    const r = decap(s.frame, s.options);
    if (!r.counter.startsWith('DECAP_')) return true;
    const innerAt = s.frame.length - (r.output.length - ETH_HLEN);
    const before = s.frame.subarray(innerAt);
    const after = r.output.subarray(ETH_HLEN);
    const validBefore = ipv4HeaderChecksumValid(s.frame, innerAt);
    const sameElsewhere = after.every((b, i) => i === 10 || i === 11 || (i === 1 ? (b & 0xfc) === (before[1]! & 0xfc) : b === before[i]));
    return sameElsewhere && (!validBefore || ipv4HeaderChecksumValid(r.output, ETH_HLEN));
  }), RUNS));
});

test('property: decap and encap never throw on arbitrary bytes, and report a known counter', (t) => {
  t.notThrows(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 200, size: 'max' }), arbDecapScenario(), arbEncapScenario(), (bytes, d, e) => {
    const dr = decap(bytes, d.options);
    const er = encap(bytes, e.options);
    return STAT_NAMES[dr.counterIndex] === dr.counter && STAT_NAMES[er.counterIndex] === er.counter;
  }), { numRuns: 3000 }));
});

test('property: the counter decides the verdict', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbEncapScenario(), arbDecapScenario(), (e, d) => {
    const er = encap(e.frame, e.options);
    const dr = decap(d.frame, d.options);
    const encapOk = er.counter.startsWith('DROP_') ? er.verdict === 'drop'
      : er.counter.startsWith('ENCAP_') ? (er.verdict === 'redirect' || er.verdict === 'tx') : er.verdict === 'pass';
    // tc_decap step 16: decapsulated VXLAN carrying TCP (the output's inner protocol) is redirected.
    const hop = d.hook === 'tc' && dr.counter === 'DECAP_VXLAN' && dr.output[ETH_HLEN + 9] === 6 && (d.config.groIfindex ?? 0) !== 0;
    const decapOk = dr.counter.startsWith('DROP_') ? dr.verdict === 'drop' : dr.verdict === (hop ? 'redirect' : 'pass');
    return encapOk && decapOk && !dr.counter.startsWith('ENCAP_') && !er.counter.startsWith('DECAP_');
  }), RUNS));
});
