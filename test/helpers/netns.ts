// Throwaway network namespaces for attach tests: `burrow-t-<random>`, never the host's. Every
// namespace made here is deleted by destroy(), which tests register with t.teardown so it runs
// even when the test fails; deleting the namespace also removes the veths inside it.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';

import { withNetns } from '../../src/bpf/index.js';

export interface TestNetns {
  readonly name: string;
  /** /run/netns/<name>, for withNetns/setns. */
  readonly path: string;
  /** Runs synchronous code inside the namespace. */
  run<T>(fn: () => T): T;
  /** `ip -n <name> ...` */
  ip(...args: string[]): string;
  /** `ip netns exec <name> cmd ...` */
  exec(cmd: string, ...args: string[]): string;
  destroy(): void;
}

export function createNetns(): TestNetns {
  const name = `burrow-t-${crypto.randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  let gone = false;
  const ns: TestNetns = {
    name,
    path: `/run/netns/${name}`,
    run: (fn) => withNetns(`/run/netns/${name}`, fn),
    ip: (...args) => execFileSync('ip', ['-n', name, ...args], { encoding: 'utf8' }),
    exec: (cmd, ...args) => execFileSync('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8' }),
    destroy() {
      if (gone) return;
      gone = true;
      execFileSync('ip', ['netns', 'del', name]);
    },
  };
  try {
    ns.ip('link', 'set', 'lo', 'up');
  } catch (e) {
    ns.destroy();
    throw e;
  }
  return ns;
}

/** A veth pair with both ends up inside `ns` (or the second end moved into `peerNs`). */
export function addVeth(ns: TestNetns, a: string, b: string, peerNs?: TestNetns): void {
  ns.ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b, ...(peerNs ? ['netns', peerNs.name] : []));
  ns.ip('link', 'set', a, 'up');
  (peerNs ?? ns).ip('link', 'set', b, 'up');
}
