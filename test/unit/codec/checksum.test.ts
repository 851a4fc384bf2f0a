import test from 'ava';
import fc from 'fast-check';
import {
  buildIpv4Header, checksumUpdate16, checksumValid, fold, internetChecksum, ipv4HeaderChecksum,
  ipv4HeaderChecksumValid, onesComplementSum, rewriteTos,
} from '../../../src/codec/index.js';
import { arbIpv4Plan } from '../../arbitraries/index.js';
import { fromHex } from './fixtures.js';

test('RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2', (t) => {
  const bytes = fromHex('0001 f203 f4f5 f6f7');
  t.is(onesComplementSum(bytes), 0xddf2);
  t.is(internetChecksum(bytes), 0x220d);
});

test('an odd trailing byte is padded with zero (RFC 1071 §4.1)', (t) => {
  t.is(onesComplementSum(fromHex('0102 03')), 0x0102 + 0x0300);
  t.is(onesComplementSum(fromHex('ff')), 0xff00);
});

test('fold carries repeatedly', (t) => {
  t.is(fold(0x2ddf0), 0xddf2);
  t.is(fold(0x1fffe), 0xffff);
  t.is(fold(0xffff), 0xffff);
});

// The header from Wikipedia's "IPv4 header checksum" worked example (a captured UDP packet).
const CAPTURED_HEADER = '4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7';

test('a captured IPv4 header: checksum 0xb861 verifies and recomputes', (t) => {
  const header = fromHex(CAPTURED_HEADER);
  t.true(checksumValid(header));
  t.true(ipv4HeaderChecksumValid(header));
  t.is(ipv4HeaderChecksum(header), 0xb861);
  header[8] = 0x3f; // TTL 63
  t.false(ipv4HeaderChecksumValid(header));
});

test('buildIpv4Header reproduces the captured header', (t) => {
  const built = buildIpv4Header({ src: '192.168.0.1', dst: '192.168.0.199', protocol: 17, ttl: 64, df: true, id: 0 }, 0x73 - 20);
  t.deepEqual(built, fromHex(CAPTURED_HEADER));
});

test('RFC 1624 §4 example: eqn 3 gives 0x0000 where eqn 2 would give 0xffff', (t) => {
  t.is(checksumUpdate16(0xdd2f, 0x5555, 0x3285), 0x0000);
});

test('an unchanged word leaves the checksum unchanged', (t) => {
  t.is(checksumUpdate16(0x1234, 0xabcd, 0xabcd), 0x1234);
});

test('property: the incremental TOS update equals a full recomputation on valid headers', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbIpv4Plan(), fc.integer({ min: 0, max: 255 }), (plan, tos) => {
    const header = buildIpv4Header({ ...plan, protocol: 6 }, 0);
    rewriteTos(header, 0, tos);
    return header[1] === tos && ipv4HeaderChecksum(header) === ((header[10]! << 8) | header[11]!) && ipv4HeaderChecksumValid(header);
  }), { numRuns: 2000 }));
});

test('rewriteTos keeps a wrong checksum wrong (incremental, not recomputed)', (t) => {
  const header = fromHex(CAPTURED_HEADER);
  header[10] = 0x00; header[11] = 0x01;
  rewriteTos(header, 0, 0x03);
  t.false(ipv4HeaderChecksumValid(header));
});
