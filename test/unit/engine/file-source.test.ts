// The file source (issue 9): real files in a temporary directory, real fs.watch.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isSourceError, type SourceEvent } from '../../../src/engine/events.js';
import { FileSource } from '../../../src/engine/file-source.js';

/** An event as the tests compare it: items drained (documents by value, errors by rule and message). */
interface Seen {
  type: SourceEvent['type'];
  id: string;
  order: readonly (string | number)[];
  items?: unknown[];
}

const drain = (e: SourceEvent): Seen => {
  const seen: Seen = { type: e.type, id: e.source.id, order: e.source.order };
  if (e.type === 'replace') {
    seen.items = [...e.items].map((item) => (isSourceError(item) ? { rule: item.error.rule, message: item.error.message, file: item.error.file } : item.value));
  }
  return seen;
};

const pool = (name: string, cidr: string): string =>
  `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${name}\nspec:\n  cidr: ${cidr}\n`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tmpdir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'burrow-file-source-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a source over `paths`, recording every sink call; closed in teardown. */
async function started(t: ExecutionContext, paths: string[], opts: { maxFileBytes?: number } = {}) {
  const calls: Seen[][] = [];
  let syncFrame = false;
  let reentrant = false;
  const src = new FileSource({
    paths,
    debounceMs: 50,
    ...opts,
    sink: (events) => {
      reentrant ||= syncFrame;
      calls.push(events.map(drain));
    },
  });
  t.teardown(() => src.close());
  syncFrame = true;
  const starting = src.start();
  syncFrame = false;
  await starting;
  t.false(reentrant, "the sink was called inside start()'s caller");
  /** Waits (generously) for the first sink call after `from` holding an event that matches. */
  const waitFor = async (match: (e: Seen) => boolean, from: number, what: string, timeoutMs = 3000): Promise<Seen[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const call = calls.slice(from).find((c) => c.some(match));
      if (call) return call;
      if (Date.now() > deadline) throw new Error(`no event for ${what} within ${timeoutMs} ms; calls since: ${JSON.stringify(calls.slice(from))}`);
      await sleep(10);
    }
  };
  return { src, calls, waitFor };
}

test('initial scan: one sink call, a replace per manifest in name order, [argument index, path] order keys', async (t) => {
  const dir = await tmpdir(t);
  await writeFile(path.join(dir, 'b.yaml'), pool('b', '10.2.0.0/16'));
  await writeFile(path.join(dir, 'a.yml'), pool('a', '10.1.0.0/16'));
  await writeFile(path.join(dir, 'README.md'), '# not a manifest');
  await mkdir(path.join(dir, 'nested.yaml'));
  const { src, calls } = await started(t, [dir]);
  t.is(calls.length, 1);
  const a = path.join(dir, 'a.yml');
  const b = path.join(dir, 'b.yaml');
  t.deepEqual(calls[0], [
    { type: 'replace', id: a, order: [0, a], items: [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.1.0.0/16' } }] },
    { type: 'replace', id: b, order: [0, b], items: [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'b' }, spec: { cidr: '10.2.0.0/16' } }] },
  ]);
  t.is(src.readCount, 2);
});

test('editing one file replaces that file only; the other one is not re-read', async (t) => {
  const dir = await tmpdir(t);
  const a = path.join(dir, 'a.yaml');
  const b = path.join(dir, 'b.yaml');
  await writeFile(a, pool('a', '10.1.0.0/16'));
  await writeFile(b, pool('b', '10.2.0.0/16'));
  const { src, calls, waitFor } = await started(t, [dir]);
  const reads = src.readCount;
  const from = calls.length;
  await writeFile(b, pool('b', '10.22.0.0/16'));
  const call = await waitFor((e) => e.id === b, from, 'b.yaml');
  t.deepEqual(call, [{ type: 'replace', id: b, order: [0, b], items: [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'b' }, spec: { cidr: '10.22.0.0/16' } }] }]);
  await sleep(300);
  t.deepEqual(calls.slice(from), [call], 'exactly one event');
  t.is(src.readCount - reads, 1, 'only b.yaml was read again');
});

test('identical bytes written again yield no event', async (t) => {
  const dir = await tmpdir(t);
  const a = path.join(dir, 'a.yaml');
  const b = path.join(dir, 'b.yaml');
  await writeFile(a, pool('a', '10.1.0.0/16'));
  await writeFile(b, pool('b', '10.2.0.0/16'));
  const { src, calls, waitFor } = await started(t, [dir]);
  const reads = src.readCount;
  const from = calls.length;
  await writeFile(a, pool('a', '10.1.0.0/16'));
  await sleep(400);
  // A real change afterwards: when it arrives, a.yaml's check is long done.
  await writeFile(b, pool('b', '10.9.0.0/16'));
  await waitFor((e) => e.id === b, from, 'b.yaml');
  t.deepEqual(calls.slice(from).flat().map((e) => e.id), [b]);
  t.true(src.readCount - reads >= 2, 'a.yaml was re-read (and found identical)');
});

test('deleting a file yields a remove; deleting the last one turns the directory into no-manifests, until a file appears', async (t) => {
  const dir = await tmpdir(t);
  const a = path.join(dir, 'a.yaml');
  const b = path.join(dir, 'b.json');
  await writeFile(a, pool('a', '10.1.0.0/16'));
  await writeFile(b, JSON.stringify({ kind: 'IPPool' }));
  const { calls, waitFor } = await started(t, [dir]);
  let from = calls.length;
  await unlink(a);
  t.deepEqual(await waitFor((e) => e.id === a, from, 'removal of a.yaml'), [{ type: 'remove', id: a, order: [0, a] }]);

  from = calls.length;
  await unlink(b);
  const noManifests = { type: 'replace', id: dir, order: [0, dir], items: [{ rule: 'no-manifests', message: 'directory holds no *.yaml, *.yml or *.json manifests', file: dir }] };
  t.deepEqual(await waitFor((e) => e.id === b, from, 'removal of b.json'), [noManifests, { type: 'remove', id: b, order: [0, b] }]);

  from = calls.length;
  const c = path.join(dir, 'c.yaml');
  await writeFile(c, pool('c', '10.3.0.0/16'));
  const call = await waitFor((e) => e.id === c, from, 'c.yaml');
  t.deepEqual(call.map((e) => [e.type, e.id]), [['remove', dir], ['replace', c]]);
});

test('a FIFO in the directory is refused, never opened, and the source keeps working', async (t) => {
  const dir = await tmpdir(t);
  const a = path.join(dir, 'a.yaml');
  await writeFile(a, pool('a', '10.1.0.0/16'));
  const { src, calls, waitFor } = await started(t, [dir]);
  const reads = src.readCount;
  let from = calls.length;
  const fifo = path.join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  const call = await waitFor((e) => e.id === fifo, from, 'the FIFO');
  t.deepEqual(call, [
    { type: 'replace', id: fifo, order: [0, fifo], items: [{ rule: 'not-regular-file', message: 'is a FIFO, not a regular file; manifests must be regular files', file: fifo }] },
  ]);
  t.is(src.readCount, reads, 'the FIFO was not opened');

  from = calls.length;
  await writeFile(a, pool('a', '10.11.0.0/16'));
  const later = await waitFor((e) => e.id === a, from, 'a.yaml after the FIFO');
  t.deepEqual(later.map((e) => [e.type, e.id]), [['replace', a]]);
});

test('FIFOs present at start (in a directory, or given) are refused in the initial scan: start does not hang', async (t) => {
  const root = await tmpdir(t);
  const dir = path.join(root, 'manifests');
  await mkdir(dir);
  const inDir = path.join(dir, 'pools.yaml');
  const given = path.join(root, 'given.yaml');
  execFileSync('mkfifo', [inDir, given]);
  const { src, calls } = await started(t, [dir, given]);
  const refused = (file: string) => [{ rule: 'not-regular-file', message: 'is a FIFO, not a regular file; manifests must be regular files', file }];
  t.deepEqual(calls, [
    [
      { type: 'replace', id: inDir, order: [0, inDir], items: refused(inDir) },
      { type: 'replace', id: given, order: [1, given], items: refused(given) },
    ],
  ]);
  t.is(src.readCount, 0);
});

test('a file over maxFileBytes is refused with both sizes', async (t) => {
  const dir = await tmpdir(t);
  await writeFile(path.join(dir, 'a.yaml'), pool('a', '10.1.0.0/16'));
  const { src, calls, waitFor } = await started(t, [dir], { maxFileBytes: 100 });
  const big = path.join(dir, 'big.yaml');
  const from = calls.length;
  const reads = src.readCount;
  await writeFile(big, `# ${'x'.repeat(197)}\n`);
  const call = await waitFor((e) => e.id === big, from, 'big.yaml');
  t.deepEqual(call, [
    { type: 'replace', id: big, order: [0, big], items: [{ rule: 'file-too-large', message: 'is 200 bytes, over the 100-byte limit for a manifest file', file: big }] },
  ]);
  t.is(src.readCount, reads, 'refused on its size, before reading');
});

test('a watched directory deleted and recreated: removes, then the new content', async (t) => {
  const root = await tmpdir(t);
  const dir = path.join(root, 'manifests');
  await mkdir(dir);
  const a = path.join(dir, 'a.yaml');
  await writeFile(a, pool('a', '10.1.0.0/16'));
  const { calls, waitFor } = await started(t, [dir]);
  let from = calls.length;
  await rm(dir, { recursive: true });
  await waitFor((e) => e.id === a && e.type === 'remove', from, 'removal of a.yaml');
  await sleep(200);

  from = calls.length;
  await mkdir(dir);
  const b = path.join(dir, 'b.yaml');
  await writeFile(b, pool('b', '10.2.0.0/16'));
  const call = await waitFor((e) => e.id === b, from, 'b.yaml in the recreated directory');
  t.deepEqual(call.find((e) => e.id === b), { type: 'replace', id: b, order: [0, b], items: [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'b' }, spec: { cidr: '10.2.0.0/16' } }] });
  t.false(calls.slice(from).flat().some((e) => e.id === a), 'a.yaml is not back');

  // Watched again: a later edit arrives.
  from = calls.length;
  await writeFile(b, pool('b', '10.20.0.0/16'));
  const edit = await waitFor((e) => e.id === b, from, 'edit of b.yaml');
  t.deepEqual(edit.map((e) => [e.type, e.id]), [['replace', b]]);
});

test('a missing path at start is a read error; it is picked up when it appears', async (t) => {
  const dir = await tmpdir(t);
  const a = path.join(dir, 'a.yaml');
  await writeFile(a, pool('a', '10.1.0.0/16'));
  const missing = path.join(dir, 'later', 'pools.yaml');
  const { calls, waitFor } = await started(t, [a, missing]);
  t.deepEqual(calls[0], [
    { type: 'replace', id: a, order: [0, a], items: [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.1.0.0/16' } }] },
    { type: 'replace', id: missing, order: [1, missing], items: [{ rule: 'read', message: 'cannot read: no such file or directory', file: missing }] },
  ]);
  const from = calls.length;
  await mkdir(path.dirname(missing));
  await writeFile(missing, pool('p', '10.5.0.0/16'));
  const call = await waitFor((e) => e.id === missing, from, 'the missing file appearing', 5000);
  t.deepEqual(call.find((e) => e.id === missing)?.items, [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.5.0.0/16' } }]);
});

test('a file argument replaced by rename-into-place (as editors save) is re-read', async (t) => {
  const dir = await tmpdir(t);
  const a = path.join(dir, 'a.yaml');
  await writeFile(a, pool('a', '10.1.0.0/16'));
  await writeFile(path.join(dir, 'other.yaml'), pool('o', '10.9.0.0/16'));
  const { calls, waitFor } = await started(t, [a]);
  t.deepEqual(calls[0]?.map((e) => e.id), [a]);
  const from = calls.length;
  await writeFile(path.join(dir, '.a.yaml.swp'), pool('a', '10.100.0.0/16'));
  await rename(path.join(dir, '.a.yaml.swp'), a);
  const call = await waitFor((e) => e.id === a, from, 'a.yaml');
  t.deepEqual(call.map((e) => [e.type, e.id, e.items]), [['replace', a, [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.100.0.0/16' } }]]]);
});

test('a ConfigMap-style symlink swap (..data) is seen although the manifest name gets no event', async (t) => {
  const dir = await tmpdir(t);
  await mkdir(path.join(dir, '..v1'));
  await writeFile(path.join(dir, '..v1', 'pools.yaml'), pool('a', '10.1.0.0/16'));
  await symlink('..v1', path.join(dir, '..data'));
  await symlink('..data/pools.yaml', path.join(dir, 'pools.yaml'));
  const file = path.join(dir, 'pools.yaml');
  const { calls, waitFor } = await started(t, [dir]);
  t.deepEqual(calls[0]?.map((e) => e.id), [file]);
  const from = calls.length;
  // What kubelet's atomic writer does: a new timestamped dir, a new ..data symlink renamed over the old.
  await mkdir(path.join(dir, '..v2'));
  await writeFile(path.join(dir, '..v2', 'pools.yaml'), pool('a', '10.2.0.0/16'));
  await symlink('..v2', path.join(dir, '..data_tmp'));
  await rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  await rm(path.join(dir, '..v1'), { recursive: true });
  const call = await waitFor((e) => e.id === file, from, 'pools.yaml');
  t.deepEqual(call.map((e) => [e.type, e.items]), [['replace', [{ apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.2.0.0/16' } }]]]);
});

test('close() stops events, including a change already pending', async (t) => {
  const dir = await tmpdir(t);
  const a = path.join(dir, 'a.yaml');
  await writeFile(a, pool('a', '10.1.0.0/16'));
  const { src, calls, waitFor } = await started(t, [dir]);
  let from = calls.length;
  await writeFile(a, pool('a', '10.2.0.0/16'));
  await waitFor((e) => e.id === a, from, 'a.yaml (the source works before close)');
  from = calls.length;
  await writeFile(a, pool('a', '10.3.0.0/16'));
  src.close();
  await writeFile(path.join(dir, 'b.yaml'), pool('b', '10.4.0.0/16'));
  await rm(dir, { recursive: true });
  await sleep(1500);
  t.is(calls.length, from);
});
