// `agentctl validate`, spawned for real: exit codes, the table line, the JSON shape, and error
// lines that name the file, the document, the resource and the field path.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

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

// ── bounded input (issue 13): only regular files, at most 64 MiB, short messages ─────────────

test('-f a FIFO: refused without being opened (no writer needed), a clear error, exit 1', async (t) => {
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  const fifo = path.join(m.dir, 'pools.yaml');
  execFileSync('mkfifo', [fifo]);
  const r = await agentctl(['validate', '-f', fifo]);
  t.is(r.code, 1, r.stderr);
  t.is(r.stderr, `${fifo}: is a FIFO, not a regular file; manifests must be regular files\n`);
});

test('a FIFO named *.yaml in a -f directory: refused, named, the other files still read', async (t) => {
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  m.write('a.yaml', INVALID.split('---\n')[0]!);
  execFileSync('mkfifo', [path.join(m.dir, 'b.yaml')]);
  const r = await agentctl(['validate', '-f', m.dir, '-o', 'json']);
  t.is(r.code, 1, r.stderr);
  const body = JSON.parse(r.stdout) as { errors: { file: string; rule: string; message: string }[] };
  t.deepEqual(body.errors.map((e) => [e.file, e.rule, e.message]), [[path.join(m.dir, 'b.yaml'), 'not-regular-file', 'is a FIFO, not a regular file; manifests must be regular files']]);
});

test('-f a file over 64 MiB: refused before it is read, exit 1', async (t) => {
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  const big = m.write('big.yaml', '');
  fs.truncateSync(big, 64 * 2 ** 20 + 1); // sparse: no disk used
  const r = await agentctl(['validate', '-f', big]);
  t.is(r.code, 1, r.stderr);
  t.is(r.stderr, `${big}: is 67108865 bytes, over the 67108864-byte limit for a manifest file\n`);
});

test('a 1 MB garbage file: a few short lines that quote at most an excerpt of it', async (t) => {
  const m = manifestDir();
  t.teardown(() => m.cleanup());
  // One long string (a document that is not a resource) and YAML noise (thousands of syntax errors).
  const blob = crypto.randomBytes(750_000).toString('base64');
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ :{}[]\n-';
  const noise = Array.from(crypto.randomBytes(1_000_000), (byte) => alphabet[byte % alphabet.length]).join('');
  for (const [name, text, rule] of [['blob.yaml', blob, /expected a resource .* got string '.{60}… \(1000000 characters\)'$/], ['noise.yaml', noise, /invalid YAML: … and \d+ more syntax errors in this document \(the first 10 are shown\)$/]] as const) {
    const file = m.write(name, text);
    t.true(fs.statSync(file).size >= 300_000);
    const r = await agentctl(['validate', '-f', file]);
    t.is(r.code, 1);
    t.true(r.stderr.length < 4000, `${name}: ${r.stderr.length} bytes of errors`);
    t.true(r.stderr.split('\n').every((l) => l.length <= 400), `${name}: every line is short`);
    t.regex(r.stderr.trimEnd().split('\n').at(-1)!, rule);
    t.false(r.stderr.includes(blob.slice(100, 160)), 'no more than the excerpt of the text');
  }
});
