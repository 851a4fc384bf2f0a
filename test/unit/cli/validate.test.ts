// `agentctl validate`, spawned for real: exit codes, the table line, the JSON shape, and error
// lines that name the file, the document, the resource and the field path.
import test from 'ava';

import { agentctl, manifestDir, manifestFixture } from '../../helpers/agentctl.js';

const LAB = manifestFixture('lab');
const CROSS_SUBNET = manifestFixture('seeds/000-ippool-ipip-cross-subnet.yaml');

const INVALID = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: good
spec:
  cidr: 10.1.0.0/16
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: bad
spec:
  cidr: 192.168.0.0/16
  ipipMode: Sometimes
  colour: blue
`;

test('valid manifests: exit 0 and a one-line count', async (t) => {
  const r = await agentctl(['validate', '-f', CROSS_SUBNET, LAB]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'valid: 1 pool(s), 3 node(s), 4 block(s)\n');
});

test('valid manifests, -o json: valid true with counts', async (t) => {
  const r = await agentctl(['validate', '-f', CROSS_SUBNET, LAB, '-o', 'json']);
  t.is(r.code, 0);
  t.like(JSON.parse(r.stdout), { valid: true, errors: [], pools: 1, nodes: 3, blocks: 4 });
});

test('invalid manifests: exit 1, one stderr line per problem naming file, document, resource and path', async (t) => {
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  const file = m.write('pools.yaml', INVALID);
  const r = await agentctl(['validate', '-f', file]);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 2, r.stderr);
  t.true(lines.every((l) => l.startsWith(`${file}: document 2 (IPPool bad): spec.`)), r.stderr);
  t.true(lines.some((l) => l.includes('spec.ipipMode:') && l.includes("'Sometimes'")), r.stderr);
  t.true(lines.some((l) => l.includes("spec.colour: unknown field 'colour'")), r.stderr);
});

test('invalid manifests, -o json: valid false, every error with file, document, kind, name, path and rule', async (t) => {
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  const file = m.write('pools.yaml', INVALID);
  const r = await agentctl(['validate', '-f', file, '-o', 'json']);
  t.is(r.code, 1);
  const body = JSON.parse(r.stdout) as { valid: boolean; errors: Record<string, unknown>[] };
  t.false(body.valid);
  t.deepEqual(body.errors.map((e) => [e.file, e.document, e.kind, e.name, e.path]).sort(), [
    [file, 2, 'IPPool', 'bad', 'spec.colour'],
    [file, 2, 'IPPool', 'bad', 'spec.ipipMode'],
  ]);
  t.true(body.errors.every((e) => typeof e.rule === 'string' && typeof e.message === 'string' && e.severity === 'error'));
});

test('a file that does not exist is invalid input, named in the message', async (t) => {
  const r = await agentctl(['validate', '-f', '/nonexistent/burrow.yaml']);
  t.is(r.code, 1);
  t.regex(r.stderr, /\/nonexistent\/burrow\.yaml/);
});
