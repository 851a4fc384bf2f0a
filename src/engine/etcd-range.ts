/**
 * etcd's `KV.Range` with a hand-written protobuf codec, on the etcd3 client's own connection
 * (docs/control-plane.md, "The etcd source"). The first read of a cluster's datastore is 100k
 * keys; through etcd3's generated codec each one becomes an object with four int64 fields turned
 * into strings and two copied Buffers — about a tenth of agentd's start. Here a page is read off
 * the response bytes: each key and value is a view of the message (no copy), and only the
 * header's revision and `more` are decoded beside them.
 *
 * The call goes through the client's connection pool (`withConnection`: the same channel, TLS,
 * host failover and fault handling as every other etcd3 call). Only the read path is here; the
 * watches stay etcd3's.
 *
 * Wire format (etcd api/etcdserverpb/rpc.proto, mvccpb/kv.proto):
 *   RangeRequest  { bytes key = 1; bytes range_end = 2; int64 limit = 3; int64 revision = 4; }
 *   RangeResponse { ResponseHeader header = 1; repeated KeyValue kvs = 2; bool more = 3; int64 count = 4; }
 *   ResponseHeader{ uint64 cluster_id = 1; uint64 member_id = 2; int64 revision = 3; uint64 raft_term = 4; }
 *   KeyValue      { bytes key = 1; int64 create_revision = 2; int64 mod_revision = 3; int64 version = 4; bytes value = 5; int64 lease = 6; }
 */
import type { Etcd3 } from 'etcd3';

/** One key of a page: views into the response message. */
export interface RawKeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
}

export interface RawRangeResponse {
  /** The store's revision the page was read at (decimal). */
  readonly revision: string;
  readonly kvs: RawKeyValue[];
  readonly more: boolean;
}

export interface RawRangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  limit: number;
  /** Read at this revision (decimal); the newest when undefined. */
  revision?: string;
}

// ── encoding ──────────────────────────────────────────────────────────────────────────────────

function varintLength(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: bigint): number {
  while (v >= 0x80n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

export function encodeRangeRequest(r: RawRangeRequest): Buffer {
  const limit = BigInt(r.limit);
  const revision = r.revision !== undefined ? BigInt(r.revision) : 0n;
  if (limit < 0n || revision < 0n) throw new RangeError('limit and revision are not negative');
  const size =
    1 + varintLength(BigInt(r.key.length)) + r.key.length +
    1 + varintLength(BigInt(r.rangeEnd.length)) + r.rangeEnd.length +
    (limit > 0n ? 1 + varintLength(limit) : 0) +
    (revision > 0n ? 1 + varintLength(revision) : 0);
  const buf = Buffer.alloc(size);
  let pos = 0;
  buf[pos++] = (1 << 3) | 2;
  pos = writeVarint(buf, pos, BigInt(r.key.length));
  pos += r.key.copy(buf, pos);
  buf[pos++] = (2 << 3) | 2;
  pos = writeVarint(buf, pos, BigInt(r.rangeEnd.length));
  pos += r.rangeEnd.copy(buf, pos);
  if (limit > 0n) {
    buf[pos++] = 3 << 3;
    pos = writeVarint(buf, pos, limit);
  }
  if (revision > 0n) {
    buf[pos++] = 4 << 3;
    pos = writeVarint(buf, pos, revision);
  }
  return buf;
}

// ── decoding ──────────────────────────────────────────────────────────────────────────────────

/** A protobuf reader over `buf[pos, end)` that throws on anything that runs past `end`. */
class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  /** A varint as a number: exact for lengths, tags and anything below 2^53. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new RangeError('protobuf: varint longer than 10 bytes');
  }

  /** A varint as a decimal string (int64 revisions, exactly). */
  varintText(): string {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result).toString();
      shift += 7n;
    }
    throw new RangeError('protobuf: varint longer than 10 bytes');
  }

  /** A length-delimited field's length; the reader is left at its first byte. */
  length(): number {
    const n = this.varint();
    if (n > this.end - this.pos) throw new RangeError('protobuf: field runs past the message');
    return n;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0: this.varint(); return;
      case 1: this.advance(8); return;
      case 2: this.advance(this.length()); return;
      case 5: this.advance(4); return;
      default: throw new RangeError(`protobuf: wire type ${wireType} is not supported`);
    }
  }

  advance(n: number): void {
    if (n > this.end - this.pos) throw new RangeError('protobuf: field runs past the message');
    this.pos += n;
  }
}

const EMPTY: Buffer = Buffer.alloc(0);

/** The KeyValue message the reader is at, `n` bytes long (the page's one reader, no other allocation than the views). */
function decodeKeyValue(r: Reader, n: number): RawKeyValue {
  const buf = r.buf;
  const outer = r.end;
  r.end = r.pos + n;
  let key: Buffer = EMPTY;
  let value: Buffer = EMPTY;
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if ((field === 1 || field === 5) && wire === 2) {
      const len = r.length();
      const view = buf.subarray(r.pos, r.pos + len);
      r.pos += len;
      if (field === 1) key = view;
      else value = view;
    } else {
      r.skip(wire);
    }
  }
  r.end = outer;
  return { key, value };
}

export function decodeRangeResponse(buf: Buffer): RawRangeResponse {
  const r = new Reader(buf, 0, buf.length);
  let revision = '0';
  const kvs: RawKeyValue[] = [];
  let more = false;
  while (r.pos < buf.length) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) {
      const n = r.length();
      const h = new Reader(buf, r.pos, r.pos + n);
      r.pos += n;
      while (h.pos < h.end) {
        const t = h.varint();
        if (t === ((3 << 3) | 0)) revision = h.varintText();
        else h.skip(t & 7);
      }
    } else if (field === 2 && wire === 2) {
      kvs.push(decodeKeyValue(r, r.length()));
    } else if (field === 3 && wire === 0) {
      more = r.varint() !== 0;
    } else {
      r.skip(wire);
    }
  }
  return { revision, kvs, more };
}

// ── the call ──────────────────────────────────────────────────────────────────────────────────

/** What the call needs of grpc-js's Client and etcd3's ConnectionPool (their public methods). */
interface UnaryClient {
  makeUnaryRequest<Req, Res>(
    method: string,
    serialize: (value: Req) => Buffer,
    deserialize: (value: Buffer) => Res,
    argument: Req,
    metadata: unknown,
    options: object,
    callback: (err: Error | null, value?: Res) => void,
  ): unknown;
}
interface Pool {
  withConnection<T>(service: 'KV', fn: (args: { client: UnaryClient; metadata: unknown }) => Promise<T>): Promise<T>;
}

/**
 * One Range call on the client's connection pool. The pool is the `pool` field every etcd3
 * Namespace holds (protected in its typings; ConnectionPool.withConnection is public).
 */
export function rawRange(client: Etcd3, request: RawRangeRequest): Promise<RawRangeResponse> {
  const pool = (client as unknown as { pool: Pool }).pool;
  return pool.withConnection('KV', ({ client: kv, metadata }) => new Promise<RawRangeResponse>((resolve, reject) => {
    kv.makeUnaryRequest('/etcdserverpb.KV/Range', encodeRangeRequest, decodeRangeResponse, request, metadata, {}, (err, res) => {
      if (err || !res) reject(err ?? new Error('etcd Range: no response'));
      else resolve(res);
    });
  }));
}
