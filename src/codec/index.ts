// The reference codec: header codecs, frame builders, the datapath model (encap/decap) and its
// vocabulary. Its test-only generators live in test/arbitraries/.
export * from './address.js';
export * from './checksum.js';
export * from './decap.js';
export * from './ecn.js';
export * from './encap.js';
export * from './ethernet.js';
export * from './frame-builder.js';
export * from './frame-parse.js';
export * from './icmp.js';
export * from './ipv4.js';
export * from './model.js';
export * from './mss.js';
export * from './route-table.js';
export * from './source-port.js';
export * from './stats.js';
export * from './tcp.js';
export * from './tunnel-headers.js';
export * from './udp.js';
export * from './verdict.js';
export * from './vxlan.js';
