// Codecs between JS values and the bytes of map keys and values. A struct codec is declared from
// an ordered field list with C's names; offsets and size are computed, and a field that C would
// pad before (or a struct C would pad after) is refused at declaration, so padding is always
// spelled out. The declared layout is then checked against the object's BTF (btf-check.ts).
//
// Integers are in host order (what the kernel stores), except be16/be32/ipv4, which are stored
// in network order the way packet headers carry them. This module is pure: no addon, no I/O; a bad
// value or declaration throws the library's ErrInvalid.
import os from 'node:os';

import { invalid } from './errors.js';

export interface Codec<T> {
  /** Bytes in the map. */
  readonly size: number;
  /** C alignment, used to find padding a declaration forgot. */
  readonly align: number;
  /** For messages: 'u32', 'ipv4', 'u8[6]', 'struct burrow_route', ... */
  readonly typeName: string;
  write(value: T, buf: Buffer, offset: number): void;
  read(buf: Buffer, offset: number): T;
}

/** A run of bytes C inserts (or burrow.h names `_pad`): written as zeros, not decoded. */
export interface Padding extends Codec<undefined> {
  readonly padding: true;
}

export type ValueOf<C> = C extends Codec<infer T> ? T : never;

const hostLE = os.endianness() === 'LE';

export function encode<T>(codec: Codec<T>, value: T): Buffer {
  const buf = Buffer.alloc(codec.size);
  codec.write(value, buf, 0);
  return buf;
}

export function decode<T>(codec: Codec<T>, bytes: Uint8Array): T {
  if (bytes.length < codec.size) {
    throw invalid('codec', `${codec.typeName} needs ${codec.size} bytes, got ${bytes.length}`);
  }
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return codec.read(buf, 0);
}

function checkInt(value: number, bits: number, typeName: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw invalid('codec', `${String(value)} is not a ${typeName} (0 ≤ n < 2^${bits})`);
  }
}

function uint(bits: 8 | 16 | 32, bigEndian: boolean, typeName: string): Codec<number> {
  const size = bits / 8;
  const le = !bigEndian && hostLE;
  return {
    size,
    align: size,
    typeName,
    write(v, buf, off) {
      checkInt(v, bits, typeName);
      if (size === 1) buf.writeUInt8(v, off);
      else if (le) buf.writeUIntLE(v, off, size);
      else buf.writeUIntBE(v, off, size);
    },
    read(buf, off) {
      if (size === 1) return buf.readUInt8(off);
      return le ? buf.readUIntLE(off, size) : buf.readUIntBE(off, size);
    },
  };
}

export const u8: Codec<number> = uint(8, false, 'u8');
export const u16: Codec<number> = uint(16, false, 'u16');
export const u32: Codec<number> = uint(32, false, 'u32');
/** __be16: a number stored in network byte order (ports in packet headers). */
export const be16: Codec<number> = uint(16, true, 'be16');
/** __be32: a number stored in network byte order. */
export const be32: Codec<number> = uint(32, true, 'be32');

export const u64: Codec<bigint> = {
  size: 8,
  align: 8,
  typeName: 'u64',
  write(v, buf, off) {
    if (typeof v !== 'bigint' || v < 0n || v >= 1n << 64n) throw invalid('codec', `${String(v)} is not a u64 (a bigint)`);
    if (hostLE) buf.writeBigUInt64LE(v, off);
    else buf.writeBigUInt64BE(v, off);
  },
  read(buf, off) {
    return hostLE ? buf.readBigUInt64LE(off) : buf.readBigUInt64BE(off);
  },
};

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** An IPv4 address as a dotted string, stored as on the wire (network order, 4 bytes). */
export const ipv4: Codec<string> = {
  size: 4,
  align: 4,
  typeName: 'ipv4',
  write(v, buf, off) {
    const m = typeof v === 'string' ? IPV4.exec(v) : null;
    const octets = m ? m.slice(1).map(Number) : [];
    if (!m || octets.some((o) => o > 255)) throw invalid('codec', `${String(v)} is not an IPv4 address (a.b.c.d)`);
    octets.forEach((o, i) => buf.writeUInt8(o, off + i));
  },
  read(buf, off) {
    return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  },
};

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** A MAC address (u8[6]) as 'aa:bb:cc:dd:ee:ff'; decoded lower-case. */
export const mac: Codec<string> = {
  size: 6,
  align: 1,
  typeName: 'mac',
  write(v, buf, off) {
    if (typeof v !== 'string' || !MAC.test(v)) throw invalid('codec', `${String(v)} is not a MAC address (aa:bb:cc:dd:ee:ff)`);
    v.split(':').forEach((h, i) => buf.writeUInt8(parseInt(h, 16), off + i));
  },
  read(buf, off) {
    return Array.from(buf.subarray(off, off + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
  },
};

/** u8[n] as raw bytes. */
export function bytes(n: number): Codec<Buffer> {
  return {
    size: n,
    align: 1,
    typeName: `u8[${n}]`,
    write(v, buf, off) {
      if (!(v instanceof Uint8Array) || v.length !== n) throw invalid('codec', `expected ${n} bytes`);
      buf.set(v, off);
    },
    read(buf, off) {
      return Buffer.from(buf.subarray(off, off + n));
    },
  };
}

/** T[n], elements back to back (C arrays have no padding between elements). */
export function array<T>(elem: Codec<T>, n: number): Codec<T[]> {
  return {
    size: elem.size * n,
    align: elem.align,
    typeName: `${elem.typeName}[${n}]`,
    write(v, buf, off) {
      if (!Array.isArray(v) || v.length !== n) throw invalid('codec', `expected an array of ${n} ${elem.typeName}`);
      v.forEach((e, i) => elem.write(e, buf, off + i * elem.size));
    },
    read(buf, off) {
      return Array.from({ length: n }, (_, i) => elem.read(buf, off + i * elem.size));
    },
  };
}

export function pad(n: number): Padding {
  return {
    padding: true,
    size: n,
    align: 1,
    typeName: `pad[${n}]`,
    write(_v, buf, off) {
      buf.fill(0, off, off + n);
    },
    read() {
      return undefined;
    },
  };
}

export interface StructField {
  readonly name: string;
  readonly offset: number;
  readonly codec: Codec<unknown>;
  readonly padding: boolean;
}

export type FieldList = Record<string, Codec<unknown>>;

/** The JS value of a struct: one property per non-padding field. */
export type StructValue<F extends FieldList> = {
  -readonly [K in keyof F as F[K] extends Padding ? never : K]: ValueOf<F[K]>;
};

export interface StructCodec<T> extends Codec<T> {
  /** The C struct name (without `struct`), the key for the BTF check. */
  readonly cName: string;
  readonly fields: readonly StructField[];
  offsetOf(field: string): number;
  encode(value: T): Buffer;
  decode(bytes: Uint8Array): T;
}

function isPadding(c: Codec<unknown>): boolean {
  return (c as Partial<Padding>).padding === true;
}

function layout(cName: string, fields: FieldList, packed: boolean): { list: StructField[]; size: number; align: number } {
  const list: StructField[] = [];
  let offset = 0;
  let align = 1;
  for (const [name, codec] of Object.entries(fields)) {
    if (!packed && offset % codec.align !== 0) {
      const gap = codec.align - (offset % codec.align);
      throw invalid('codec', 
        `struct ${cName}: field '${name}' (${codec.typeName}) would sit at offset ${offset}, but C aligns it to ` +
          `${codec.align} and inserts ${gap} byte(s) of padding before it: declare them with pad(${gap})`,
      );
    }
    list.push({ name, offset, codec, padding: isPadding(codec) });
    offset += codec.size;
    align = Math.max(align, codec.align);
  }
  if (!packed && offset % align !== 0) {
    const tail = align - (offset % align);
    throw invalid('codec', 
      `struct ${cName}: ${offset} bytes is not a multiple of its alignment ${align}; C adds ${tail} byte(s) ` +
        `of tail padding: declare them with pad(${tail})`,
    );
  }
  return { list, size: offset, align: packed ? 1 : align };
}

/**
 * Declares a C struct. Field names are C's (they are matched against BTF); order is C's.
 * `struct('burrow_peer', { modes: u8, _pad: pad(3), vni: u32 })`
 */
export function struct<const F extends FieldList>(
  cName: string,
  fields: F,
  opts: { packed?: boolean } = {},
): StructCodec<StructValue<F>> {
  const { list, size, align } = layout(cName, fields, opts.packed ?? false);
  const typeName = `struct ${cName}`;
  const codec: StructCodec<StructValue<F>> = {
    cName,
    size,
    align,
    typeName,
    fields: list,
    offsetOf(field) {
      const f = list.find((x) => x.name === field);
      if (!f) throw invalid('codec', `${typeName} has no field '${field}'`);
      return f.offset;
    },
    write(value, buf, off) {
      if (typeof value !== 'object' || value === null) throw invalid('codec', `${typeName}: expected an object`);
      const rec = value as Record<string, unknown>;
      for (const f of list) {
        try {
          f.codec.write(f.padding ? undefined : rec[f.name], buf, off + f.offset);
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          throw invalid('codec', `${cName}.${f.name}: ${rec[f.name] === undefined && !f.padding ? 'missing' : msg}`);
        }
      }
    },
    read(buf, off) {
      const out: Record<string, unknown> = {};
      for (const f of list) if (!f.padding) out[f.name] = f.codec.read(buf, off + f.offset);
      return out as StructValue<F>;
    },
    encode(value) {
      return encode(codec, value);
    },
    decode(bytes) {
      return decode(codec, bytes);
    },
  };
  return codec;
}

export function isStructCodec(c: Codec<unknown>): c is StructCodec<unknown> {
  return typeof (c as Partial<StructCodec<unknown>>).cName === 'string' &&
    Array.isArray((c as Partial<StructCodec<unknown>>).fields);
}

/** Raw bytes of a given size: the codec of maps nobody has typed. */
export function raw(size: number): Codec<Buffer> {
  return { ...bytes(size), typeName: `bytes[${size}]` };
}
