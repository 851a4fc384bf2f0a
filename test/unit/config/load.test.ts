// The loader: files and directories, sorted, never throwing for a user's mistake.
import test from 'ava';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadManifests, readManifestSources } from '../../../src/config/index.js';
import { fixture, pool, yamlDocs } from './_fixtures.js';

test('a directory yields every *.yaml, *.yml and *.json inside, sorted by name', async (t) => {
  const { sources, errors } = await readManifestSources(fixture('lab'));
  t.deepEqual(errors, []);
  t.deepEqual(sources.map((s) => path.basename(s.file)), ['blocks.yaml', 'felix.json', 'nodes.yaml']);
  t.true(sources.every((s) => s.file.startsWith(fixture('lab'))));
});

test('only manifest extensions, no subdirectories; files named as given', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'burrow-config-'));
  try {
    await writeFile(path.join(dir, 'b.yml'), yamlDocs(pool('b', '10.2.0.0/16')));
    await writeFile(path.join(dir, 'a.JSON'), JSON.stringify(pool('a', '10.1.0.0/16')));
    await writeFile(path.join(dir, 'README.md'), '# not a manifest');
    await mkdir(path.join(dir, 'nested.yaml'));
    const { sources } = await readManifestSources([dir]);
    t.deepEqual(sources.map((s) => path.relative(dir, s.file)), ['a.JSON', 'b.yml']);
    const r = await loadManifests(dir);
    t.true(r.ok);
    if (r.ok) t.deepEqual(r.model.pools.map((p) => p.name), ['a', 'b']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing path is an error diagnostic, not an exception', async (t) => {
  const missing = fixture('does-not-exist.yaml');
  const r = await loadManifests([missing]);
  t.false(r.ok);
  if (r.ok) return;
  t.deepEqual(r.errors.map((e) => [e.file, e.rule, e.message]), [[missing, 'read', 'cannot read: no such file or directory']]);
});

test('an empty directory is an error: an empty model would withdraw every route', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'burrow-config-'));
  try {
    const r = await loadManifests(dir);
    t.false(r.ok);
    if (!r.ok) t.deepEqual(r.errors.map((e) => e.rule), ['no-manifests']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('read errors and manifest errors are reported together', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'burrow-config-'));
  try {
    await writeFile(path.join(dir, 'pool.yaml'), yamlDocs(pool('p', '10.1.0.0/16', { ipipMode: 'Sometimes' })));
    const r = await loadManifests([path.join(dir, 'nope.yaml'), dir]);
    t.false(r.ok);
    if (!r.ok) t.deepEqual(r.errors.map((e) => e.rule), ['read', 'invalid-enum']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
