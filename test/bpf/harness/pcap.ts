// A classic pcap file (the libpcap format: a 24-byte global header, then a 16-byte record header
// before each frame), little endian, microsecond timestamps, link type 1 (Ethernet).
const PCAP_MAGIC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 65535;

export function pcapFile(frames: readonly Uint8Array[], startSeconds = 1_700_000_000): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(PCAP_MAGIC, 0);
  header.writeUInt16LE(2, 4); // version 2.4
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8); // thiszone: UTC
  header.writeUInt32LE(0, 12); // sigfigs
  header.writeUInt32LE(SNAPLEN, 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [header];
  frames.forEach((frame, i) => {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(startSeconds + Math.floor(i / 1000), 0);
    record.writeUInt32LE((i % 1000) * 1000, 4);
    record.writeUInt32LE(Math.min(frame.length, SNAPLEN), 8); // bytes saved
    record.writeUInt32LE(frame.length, 12); // bytes on the wire
    parts.push(record, Buffer.from(frame.buffer, frame.byteOffset, Math.min(frame.length, SNAPLEN)));
  });
  return Buffer.concat(parts);
}
