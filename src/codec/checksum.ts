// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).

/**
 * One's complement sum of the 16-bit big-endian words of bytes[start, end), folded to 16 bits.
 * An odd trailing byte is padded with a zero byte (RFC 1071 §4.1). `initial` lets a caller add a
 * pseudo-header sum first.
 */
export function onesComplementSum(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (i < end) sum += (bytes[i] ?? 0) << 8;
  return fold(sum);
}

/** Folds carries back into the low 16 bits until none remain. */
export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for bytes[start, end): the complement of their sum. */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length, initial = 0): number {
  return ~onesComplementSum(bytes, start, end, initial) & 0xffff;
}

/** True when bytes[start, end), checksum field included, sum to 0xffff (RFC 1071 §1). */
export function checksumValid(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  return onesComplementSum(bytes, start, end) === 0xffff;
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changes from
 * `oldWord` to `newWord`: HC' = ~(~HC + ~m + m'). For an IPv4 header whose version nibble is
 * non-zero this equals a full recomputation whenever the old checksum was right (the sum inside
 * can never be a one's complement zero), so C code using csum_replace2 or bpf_csum_diff lands on
 * the same value.
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  const sum = fold((~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff));
  return ~sum & 0xffff;
}

/** Sum of the IPv4 pseudo-header used by TCP and UDP (RFC 793, RFC 768). */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let sum = 0;
  sum += ((src[0] ?? 0) << 8) | (src[1] ?? 0);
  sum += ((src[2] ?? 0) << 8) | (src[3] ?? 0);
  sum += ((dst[0] ?? 0) << 8) | (dst[1] ?? 0);
  sum += ((dst[2] ?? 0) << 8) | (dst[3] ?? 0);
  sum += protocol;
  sum += length;
  return fold(sum);
}
