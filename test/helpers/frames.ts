// Minimal frames for library tests, built by hand so these tests do not depend on src/codec.
export function mac(s: string): Buffer {
  return Buffer.from(s.split(':').map((h) => parseInt(h, 16)));
}

export function ipv4Bytes(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

/** Ethernet + IPv4 (no options, checksum 0: the test programs do not check it) + payload. */
export function ipv4Frame(opts: { src: string; dst: string; payload: Buffer | number; proto?: number }): Buffer {
  const payload = typeof opts.payload === 'number' ? Buffer.alloc(opts.payload) : opts.payload;
  const eth = Buffer.concat([mac('02:00:00:00:00:02'), mac('02:00:00:00:00:01'), Buffer.from([0x08, 0x00])]);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + payload.length, 2);
  ip[8] = 64;
  ip[9] = opts.proto ?? 17;
  ipv4Bytes(opts.src).copy(ip, 12);
  ipv4Bytes(opts.dst).copy(ip, 16);
  return Buffer.concat([eth, ip, payload]);
}
