// Giving memory back (src/agent/memory.ts, native/memory.cc): the native release really shrinks
// V8's young generation after it grew, and the keeper releases only after enough events, once the
// agent is idle, never while a cycle runs, and not more often than its interval.
import v8 from 'node:v8';

import test from 'ava';

import { MemoryKeeper, releaseMemory } from '../../src/agent/memory.js';

const newSpaceMiB = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size / 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('releaseMemory shrinks the young generation that a burst of allocation grew', (t) => {
  // Survivors make V8 grow the semi-spaces (up to 16 MiB each on 64-bit).
  let keep: object[] = [];
  for (let round = 0; round < 40 && newSpaceMiB() < 8; round++) {
    for (let i = 0; i < 200_000; i++) keep.push({ i, s: `x${i}` });
    keep = keep.slice(-150_000);
  }
  const grown = newSpaceMiB();
  t.true(grown >= 8, `the young generation grew to ${grown} MiB`);
  keep = [];
  releaseMemory();
  const after = newSpaceMiB();
  t.true(after <= grown / 4, `after the release ${after} MiB (was ${grown})`);
});

test('MemoryKeeper: releases after minEvents once idle, waits while busy, keeps minIntervalMs', async (t) => {
  let releases = 0;
  let busy = false;
  const keeper = new MemoryKeeper({ minEvents: 100, idleMs: 20, minIntervalMs: 300, busy: () => busy, release: () => releases++ });
  try {
    keeper.noteEvents(99);
    keeper.afterCycle();
    await sleep(80);
    t.is(releases, 0, 'fewer events than minEvents: no release');

    keeper.noteEvents(1);
    busy = true;
    keeper.afterCycle();
    await sleep(80);
    t.is(releases, 0, 'a cycle is running: the release waits for the next cycle end');

    busy = false;
    keeper.afterCycle();
    await sleep(80);
    t.is(releases, 1, 'enough events and idle: one release');

    keeper.noteEvents(500);
    keeper.afterCycle();
    await sleep(80);
    t.is(releases, 1, 'within minIntervalMs of the last release: not yet');
    await sleep(400);
    t.is(releases, 2, 'once minIntervalMs passed: released');

    keeper.afterCycle();
    await sleep(400);
    t.is(releases, 2, 'nothing changed since: no release');
  } finally {
    keeper.close();
  }
});
