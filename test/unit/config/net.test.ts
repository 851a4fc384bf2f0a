// Address and network parsing follows Go's net package (what Calico uses).
import test from 'ava';
import { formatCidr, formatIp, isStrictlyMasked, netsOverlap, parseCidr, parseIp } from '../../../src/config/net.js';

const parseTable: [string, string | undefined][] = [
  ['192.168.0.0/16', '192.168.0.0/16'],
  ['10.0.1.10/24', '10.0.1.10/24'],
  ['0.0.0.0/0', '0.0.0.0/0'],
  ['192.168.0.0', undefined], // prefix required
  ['192.168.0.0/33', undefined],
  ['192.168.010.0/24', undefined], // leading zero
  ['192.168.0.0/016', undefined],
  ['1.2.3/24', undefined],
  ['fd00:10::/48', 'fd00:10::/48'],
  ['FD00:0010:0000:0000:0000:0000:0000:0000/48', 'fd00:10::/48'],
  ['::ffff:10.0.0.1/128', '::ffff:a00:1/128'],
  ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'], // longest zero run compressed
  ['1:2:3:4:5:6:7:8:9/64', undefined],
  ['fe80::1%eth0/64', undefined],
];
for (const [text, want] of parseTable) {
  test(`parseCidr(${text})`, (t) => {
    const net = parseCidr(text);
    t.is(net ? formatCidr(net) : undefined, want);
  });
}

test('strict masking and overlap', (t) => {
  t.true(isStrictlyMasked(parseCidr('192.168.0.0/16')!));
  t.false(isStrictlyMasked(parseCidr('192.168.1.0/16')!));
  t.true(netsOverlap(parseCidr('10.0.0.0/8')!, parseCidr('10.1.0.0/16')!));
  t.false(netsOverlap(parseCidr('10.0.0.0/16')!, parseCidr('10.1.0.0/16')!));
  t.false(netsOverlap(parseCidr('10.0.0.0/8')!, parseCidr('a00::/8')!)); // different families
});

test('IPv4 round trip', (t) => {
  t.is(formatIp(parseIp('255.255.255.255')!), '255.255.255.255');
  t.is(parseIp('256.0.0.1'), undefined);
});
