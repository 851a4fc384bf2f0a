// Issue 13 through a datastore (etcd, Kubernetes): an object that fails one of the new rules on
// its own (a pool or block in a reserved range, a pool larger than a /8, a node address in a
// reserved range) is one errorsAlone reports — the source skips and counts it; a conflict
// between objects (a node address inside a pool) is no object's own fault and is the engine's.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import test from 'ava';

import { DatastoreOptionError, datastoreSpec, errorsAlone } from '../../../src/engine/datastore.js';

const V3 = 'projectcalico.org/v3';
const doc = (value: unknown) => ({ loc: { file: '/calico/resources/v3/projectcalico.org/x', document: 1, prefix: [] }, value });
const pool = (cidr: string, spec: Record<string, unknown> = {}) => doc({ apiVersion: V3, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr, ...spec } });
const node = (address: string) => doc({ apiVersion: V3, kind: 'Node', metadata: { name: 'n' }, spec: { bgp: { ipv4Address: address } } });
const block = (cidr: string) => doc({ apiVersion: V3, kind: 'BlockAffinity', metadata: { name: 'b' }, spec: { node: 'n', cidr, state: 'confirmed' } });

const rules = (d: ReturnType<typeof doc>) => errorsAlone(d).map((e) => `${e.path} ${e.rule}: ${e.message}`);

test('skipped on their own: reserved and oversized pools, reserved blocks, reserved node addresses', (t) => {
  t.deepEqual(rules(pool('127.0.0.0/8')), ['spec.cidr reserved-range-overlap: IP pool range overlaps with IPv4 loopback range 127.0.0.0/8']);
  t.deepEqual(rules(pool('224.0.0.0/4')), [
    'spec.cidr pool-too-large: IP pool size is too large: an IPv4 pool may be at most a /8 (the size of 10.0.0.0/8, the largest private range), got /4; a larger pool takes in public addresses, which would be routed into the tunnel and masqueraded',
    'spec.cidr reserved-range-overlap: IP pool range overlaps with IPv4 multicast range 224.0.0.0/4',
  ]);
  t.deepEqual(rules(pool('255.255.255.255/32', { blockSize: 32 })), ['spec.cidr reserved-range-overlap: IP pool range overlaps with IPv4 reserved (and limited broadcast 255.255.255.255) range 240.0.0.0/4']);
  t.deepEqual(rules(block('0.0.0.0/26')), ['spec.cidr reserved-range-overlap: BlockAffinity CIDR 0.0.0.0/26 overlaps with IPv4 "this network" range 0.0.0.0/8']);
  t.deepEqual(rules(node('127.0.0.1/8')), ['spec.bgp.ipv4Address node-address: ipv4Address 127.0.0.1 is in the IPv4 loopback range 127.0.0.0/8, not a usable unicast node address']);
});

test('not skipped: valid objects, and objects whose only fault is another object (node address inside a pool)', (t) => {
  t.deepEqual(rules(pool('10.0.0.0/8')), []);
  t.deepEqual(rules(pool('10.0.1.0/24')), [], 'a pool equal to some node\'s subnet: the engine says so, naming both');
  t.deepEqual(rules(node('192.168.0.5/24')), []);
  t.deepEqual(rules(block('192.168.0.0/26')), []);
});

test('certificate and kubeconfig files: a FIFO is refused without being opened, a huge file before it is read', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-creds-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'ca.pem');
  execFileSync('mkfifo', [fifo]);
  const big = path.join(dir, 'big.pem');
  fs.writeFileSync(big, '');
  fs.truncateSync(big, 2 ** 20 + 1);
  const etcd = (ca: string) => () => datastoreSpec({ datastore: 'etcdv3', etcdEndpoints: 'https://10.0.0.5:2379', etcdCaCertFile: ca });
  t.throws(etcd(fifo), { instanceOf: DatastoreOptionError, message: `--etcd-ca-cert-file: ${fifo} is a FIFO, not a regular file; certificates must be regular files` });
  t.throws(etcd(big), { instanceOf: DatastoreOptionError, message: `--etcd-ca-cert-file: ${big} is 1048577 bytes, over the 1048576-byte limit for a certificate file` });
  t.throws(() => datastoreSpec({ datastore: 'kubernetes', kubeconfig: fifo }), { instanceOf: DatastoreOptionError, message: `--kubeconfig: ${fifo} is a FIFO, not a regular file` });
});
