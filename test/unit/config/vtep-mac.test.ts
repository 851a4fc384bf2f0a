// Calico's VTEP MAC rule, checked against sha1 computed independently (sha1sum and node:crypto).
import test from 'ava';
import { createHash } from 'node:crypto';
import { calicoVtepMac, parseMac } from '../../../src/config/index.js';
import { lab, modelOf, node } from './_fixtures.js';

// `printf %s NAME | sha1sum`, first five bytes after the 0x66 prefix.
const KNOWN: [string, string][] = [
  ['node-a', '66:07:02:c1:cc:60'], // sha1 0702c1cc60ff9e13...
  ['node-b', '66:89:3a:22:7a:ac'], // sha1 893a227aaca1e12a...
  ['node-c', '66:1a:b9:f1:6e:af'], // sha1 1ab9f16eafea8cce...
  ['k8s-worker-1', '66:64:51:63:ff:10'], // sha1 645163ff10f7828f...
];

for (const [name, mac] of KNOWN) {
  test(`VTEP MAC of ${name} is 0x66 + sha1(name)[0..5]`, (t) => {
    t.is(calicoVtepMac(name), mac);
    const sha = createHash('sha1').update(name).digest('hex');
    t.is(mac.replace(/:/g, ''), `66${sha.slice(0, 10)}`);
  });
}

test('the derived MAC is unicast and locally administered', (t) => {
  const first = parseInt(calicoVtepMac('any-node').slice(0, 2), 16);
  t.is(first & 1, 0);
  t.is(first & 2, 2);
});

test('nodes without vxlanTunnelMACAddr get the derived MAC; a written one wins, normalised', (t) => {
  const model = modelOf(lab({ nodes: [node('node-a', '10.0.1.10/24'), node('node-b', '10.0.1.11/24', { vxlanTunnelMACAddr: '02-AB-CD-EF-00-01' }), node('node-c', '10.0.2.10/24')] }));
  t.deepEqual(model.nodes.map((n) => n.vtepMac), ['66:07:02:c1:cc:60', '02:ab:cd:ef:00:01', '66:1a:b9:f1:6e:af']);
});

const macTable: [string, string | undefined][] = [
  ['66:07:02:C1:CC:60', '66:07:02:c1:cc:60'],
  ['66-07-02-c1-cc-60', '66:07:02:c1:cc:60'],
  ['66:07-02:c1:cc:60', undefined], // mixed separators
  ['66:07:02:c1:cc', undefined],
  ['6607.02c1.cc60', undefined],
];
for (const [text, want] of macTable) {
  test(`parseMac(${text})`, (t) => t.is(parseMac(text), want));
}
