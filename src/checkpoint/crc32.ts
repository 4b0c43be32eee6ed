// CRC-32 (IEEE 802.3, the one of zlib, gzip and PNG: reflected polynomial 0xEDB88320,
// initial value and final xor 0xFFFFFFFF), four bytes per step with four tables
// ("slicing by 4"): table s maps a byte to its CRC after s more zero bytes. Plain
// TypeScript, about 400 MB/s, so a checkpoint is checked without loading node:zlib.

const TABLES = (() => {
  const t = new Int32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let s = 1; s < 4; s++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(s - 1) * 256 + n]!;
      t[s * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/** The CRC-32 of `bytes`, continuing from `previous` (the CRC of what came before). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const t = TABLES;
  let c = ~previous;
  let i = 0;
  const whole = bytes.length & ~3;
  for (; i < whole; i += 4) {
    c ^= bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
