import test from 'ava';
import fc from 'fast-check';
import { cidrContains, effectiveRoutes, ipv4ToNumber, lookupRoute, parseCidr, type RouteEntry } from '../../../src/codec/index.js';
import { arbIpv4Address, arbRouteTable } from '../../arbitraries/index.js';
import { route } from './fixtures.js';

const entry = (cidr: string, remote: string): RouteEntry => ({ cidr, route: route('ipip', remote) });

const TABLE: RouteEntry[] = [
  entry('0.0.0.0/0', '10.0.0.0'),
  entry('10.0.0.0/8', '10.0.0.8'),
  entry('10.244.0.0/16', '10.0.0.16'),
  entry('10.244.2.0/26', '10.0.0.26'),
  entry('10.244.2.7/32', '10.0.0.32'),
];

const CASES: [string, string | undefined][] = [
  ['10.244.2.7', '10.0.0.32'],
  ['10.244.2.8', '10.0.0.26'],
  ['10.244.2.63', '10.0.0.26'],
  ['10.244.2.64', '10.0.0.16'],
  ['10.1.2.3', '10.0.0.8'],
  ['192.168.1.1', '10.0.0.0'],
];

for (const [address, remote] of CASES) {
  test(`LPM: ${address} → the entry with remote ${remote}`, (t) => {
    t.is(lookupRoute(TABLE, address)?.route.remote, remote);
  });
}

test('LPM: no default route, no match → undefined', (t) => {
  t.is(lookupRoute(TABLE.slice(1), '192.168.1.1'), undefined);
  t.is(lookupRoute([], '10.0.0.1'), undefined);
});

test('LPM: order of entries does not matter, except that a repeated prefix is replaced by the later one', (t) => {
  t.is(lookupRoute([...TABLE].reverse(), '10.244.2.9')?.route.remote, '10.0.0.26');
  const repeated = [entry('10.244.2.0/26', '1.1.1.1'), entry('10.244.2.5/26', '2.2.2.2')];
  t.is(lookupRoute(repeated, '10.244.2.1')?.route.remote, '2.2.2.2');
  t.deepEqual(effectiveRoutes(repeated).map((e) => e.route.remote), ['2.2.2.2']);
});

test('LPM: accepts a number as the address', (t) => {
  t.is(lookupRoute(TABLE, ipv4ToNumber('10.244.2.7'))?.route.remote, '10.0.0.32');
});

test('property: the match contains the address and no longer containing prefix exists', (t) => {
  t.notThrows(() => fc.assert(fc.property(arbRouteTable(), arbIpv4Address(), (table, address) => {
    const addr = ipv4ToNumber(address);
    const match = lookupRoute(table, address);
    const containing = table.filter((e) => cidrContains(parseCidr(e.cidr), addr));
    if (match === undefined) return containing.length === 0;
    const length = parseCidr(match.cidr).prefixLength;
    return cidrContains(parseCidr(match.cidr), addr) && containing.every((e) => parseCidr(e.cidr).prefixLength <= length);
  }), { numRuns: 2000 }));
});
