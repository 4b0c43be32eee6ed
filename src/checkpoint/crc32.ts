// CRC-32 (IEEE 802.3, the one of zlib, gzip and PNG: reflected polynomial 0xEDB88320,
// initial value and final xor 0xFFFFFFFF). Once a process has loaded the native addon (a
// checkpoint reader makes its kernels before it checks the weights), the addon's (crc.c,
// x86-64 with PCLMULQDQ) is used: loading node:zlib for its CRC took about 1 ms of a start.
// Otherwise Node's zlib, which has it natively from Node 20.15 and 22.2 on (zlib.crc32,
// several GB/s: 3 ms for the 10 MB checkpoint of a 2x256 LSTM, where the plain TypeScript
// below took 25 ms of `rnn sample`'s start); older Node 20 releases use the TypeScript one:
// four bytes per step with four tables ("slicing by 4"), table s mapping a byte to its CRC
// after s more zero bytes, about 400 MB/s. All three give the same value.
import { loadedCrc32 } from '../kernels/native/index.js';
import { nodeZlib } from '../util/builtins.js';

type Crc32 = (data: Uint8Array, value?: number) => number;
let native: Crc32 | null | undefined;

let tables: Int32Array | null = null;

function makeTables(): Int32Array {
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
}

/** The CRC-32 of `bytes`, continuing from `previous` (the CRC of what came before). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const addon = loadedCrc32();
  if (addon) return addon(bytes, previous);
  if (native === undefined) native = (nodeZlib() as { crc32?: Crc32 }).crc32 ?? null;
  return native ? native(bytes, previous) >>> 0 : crc32Slicing(bytes, previous);
}

/** The TypeScript CRC-32 (exported for the test that holds it to zlib's). */
export function crc32Slicing(bytes: Uint8Array, previous = 0): number {
  const t = (tables ??= makeTables());
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
