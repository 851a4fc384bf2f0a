// Network namespaces and interface names. setns() moves the calling thread only, and only the
// synchronous code after it runs there, so the helper takes a synchronous function and always
// returns the thread to its namespace, even when the function throws.
import { invalid, nativeCall } from './errors.js';
import { addon } from './native.js';

/** Runs `fn` inside the network namespace at `nsPath` (e.g. /run/netns/NAME). */
export function withNetns<T>(nsPath: string, fn: () => T): T {
  const n = addon();
  const home = nativeCall(() => n.openNetns('/proc/thread-self/ns/net'));
  try {
    nativeCall(() => n.setns(nsPath));
    try {
      const result = fn();
      if (result instanceof Promise) {
        throw invalid('withNetns', 'withNetns: the function must be synchronous (the namespace is left when it returns)');
      }
      return result;
    } finally {
      nativeCall(() => n.setns(home));
    }
  } finally {
    n.closeFd(home);
  }
}

/** Joins a network namespace for good (for a process dedicated to it, e.g. a child). */
export function enterNetns(nsPath: string): void {
  nativeCall(() => addon().setns(nsPath));
}

/** The ifindex of an interface in the current namespace; numbers pass through. */
export function ifindexOf(iface: string | number): number {
  if (typeof iface === 'number') {
    if (!Number.isInteger(iface) || iface <= 0) throw invalid('ifindexOf', `${iface} is not an ifindex`);
    return iface;
  }
  return nativeCall(() => addon().ifNameToIndex(iface));
}

export function ifnameOf(ifindex: number): string {
  return nativeCall(() => addon().ifIndexToName(ifindex));
}
