// Polling until something holds: for tests whose effect arrives asynchronously (a watch event,
// a reconcile). Never a timing assertion: the timeout only bounds a failing run.
import { setTimeout as sleep } from 'node:timers/promises';

import { patient } from '../../src/lab/sh.js';

export { patient };

/** Polls pred until it holds; throws after timeoutMs (default patient(15 000): 180 s in the kernel guests). */
export async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = patient(15_000), everyMs = 20): Promise<void> {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
