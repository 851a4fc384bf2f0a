/**
 * A block affinity's name as Calico writes it: `<node>-a-b-c-d-nn` (libcalico-go's CIDRToName on
 * the block's CIDR after the node name; the KDD object's metadata.name, what the etcd source calls
 * an affinity under the usual layout). A name of this form says node and CIDR, so the store keeps
 * no string for it (docs/control-plane.md, "Memory"): it is rebuilt when asked, and the name index
 * keys it by its CIDR.
 */
import { packRouteKey } from './packed-table.js';

const nameBuf = Buffer.alloc(300);

function writeDecimal(n: number, at: number): number {
  if (n >= 100) nameBuf[at++] = 48 + Math.floor(n / 100);
  if (n >= 10) nameBuf[at++] = 48 + (Math.floor(n / 10) % 10);
  nameBuf[at++] = 48 + (n % 10);
  return at;
}

/**
 * `<node>-a-b-c-d-nn` as one flat one-byte string (a template literal would keep a tree of string
 * pieces: ~145 bytes instead of ~44). Node names are DNS labels, so ASCII; at most 253 characters.
 */
export function blockNameOf(node: string, addr: number, prefix: number): string {
  if (node.length > 253 || !latin1(node)) return `${node}-${addr >>> 24}-${(addr >>> 16) & 255}-${(addr >>> 8) & 255}-${addr & 255}-${prefix}`;
  let n = nameBuf.write(node, 0, 'latin1');
  for (let shift = 24; shift >= 0; shift -= 8) {
    nameBuf[n++] = 0x2d;
    n = writeDecimal((addr >>> shift) & 255, n);
  }
  nameBuf[n++] = 0x2d;
  n = writeDecimal(prefix, n);
  return nameBuf.toString('latin1', 0, n);
}

/** Every character fits one latin1 byte (so the buffer gives back the same string). */
function latin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 255) return false;
  return true;
}

/** The decimal number written at text[i, end) without leading zeros, or -1. */
function decimalAt(text: string, i: number, end: number): number {
  const len = end - i;
  if (len < 1 || len > 3 || (len > 1 && text.charCodeAt(i) === 48)) return -1;
  let v = 0;
  for (; i < end; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Where the node name ends in `name` (the fifth '-' from the end), or -1. */
function nodeEnd(name: string): number {
  let i = name.length;
  for (let d = 0; d < 5; d++) {
    i = name.lastIndexOf('-', i - 1);
    if (i <= 0) return -1;
  }
  return i;
}

/** The CIDR a name of the form `<node>-a-b-c-d-nn` says (every number as blockNameOf writes it), or undefined. */
export function blockNameCidr(name: string): { nodeLength: number; addr: number; prefix: number } | undefined {
  const end = nodeEnd(name);
  if (end < 0) return undefined;
  let addr = 0;
  let at = end + 1;
  for (let part = 0; part < 5; part++) {
    const next = part === 4 ? name.length : name.indexOf('-', at);
    const v = decimalAt(name, at, next);
    if (v < 0 || (part < 4 ? v > 255 : v > 32)) return undefined;
    if (part < 4) addr = addr * 256 + v;
    else return { nodeLength: end, addr, prefix: v };
    at = next + 1;
  }
  return undefined;
}

/**
 * The store's name-index key of a name: the CIDR it says, packed (packRouteKey), when it has the
 * form `<node>-a-b-c-d-nn` (such names are then told apart by node), or the name itself.
 */
export function blockNameKey(name: string): number | string {
  const c = blockNameCidr(name);
  return c ? packRouteKey(c.addr, c.prefix) : name;
}

/** Whether `name` is blockNameOf(node, addr, prefix), without building it. */
export function isBlockName(name: string, node: string, addr: number, prefix: number): boolean {
  const c = blockNameCidr(name);
  return c !== undefined && c.addr === addr && c.prefix === prefix && c.nodeLength === node.length && name.startsWith(node);
}
