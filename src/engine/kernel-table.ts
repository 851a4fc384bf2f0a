/**
 * Kernel routes as burrow wrote them (or found them), keyed by packed route key, each one a
 * 12-byte record in a PackedTable instead of an object with strings: 100k proto-211 routes cost
 * about 2 MB. Device names and source addresses are interned (a node has a handful).
 *
 *   [0] flags: 1 dev, 2 onlink, 4 via, 8 src, 16 mtu   [1] dev id   [2] src id   [3] 0
 *   [4..7] via (IPv4, network order)                    [8..9] mtu   [10..11] 0
 */
import type { KernelRoute } from '../agent/kernel-routes.js';
import { ipv4Number, ipv4Text, PackedTable, routeKeyText } from './packed-table.js';

const SIZE = 12;
const DEV = 1;
const ONLINK = 2;
const VIA = 4;
const SRC = 8;
const MTU = 16;

export class KernelRouteTable {
  private readonly table = new PackedTable(SIZE, 1024);
  private readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly scratch = Buffer.alloc(SIZE);

  get size(): number {
    return this.table.size;
  }

  has(key: number): boolean {
    return this.table.has(key);
  }

  keys(): number[] {
    return this.table.keys();
  }

  clear(): void {
    this.table.clear();
  }

  delete(key: number): boolean {
    return this.table.delete(key);
  }

  set(key: number, r: KernelRoute): void {
    const b = this.scratch;
    b.fill(0);
    let flags = 0;
    if (r.dev !== undefined) { flags |= DEV; b[1] = this.intern(r.dev); }
    if (r.onlink) flags |= ONLINK;
    if (r.via !== undefined) { flags |= VIA; b.writeUInt32BE(ipv4Number(r.via), 4); }
    if (r.src !== undefined) { flags |= SRC; b[2] = this.intern(r.src); }
    if (r.mtu) { flags |= MTU; b.writeUInt16LE(r.mtu, 8); }
    b[0] = flags;
    this.table.set(key, b);
  }

  get(key: number): KernelRoute | undefined {
    const rec = this.table.get(key);
    if (!rec) return undefined;
    const b = Buffer.from(rec.buffer, rec.byteOffset, SIZE);
    const flags = b[0]!;
    const r: KernelRoute = { dst: routeKeyText(key) };
    if (flags & VIA) r.via = ipv4Text(b.readUInt32BE(4));
    if (flags & DEV) r.dev = this.strings[b[1]!];
    if (flags & ONLINK) r.onlink = true;
    if (flags & MTU) r.mtu = b.readUInt16LE(8);
    if (flags & SRC) r.src = this.strings[b[2]!];
    return r;
  }

  private intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.strings.length;
      if (id > 255) throw new RangeError(`more than 256 distinct devices and source addresses in burrow's kernel routes (at '${s}')`);
      this.strings.push(s);
      this.ids.set(s, id);
    }
    return id;
  }
}
