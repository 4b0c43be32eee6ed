// The largest |value| of a float32 tensor, for the check every loaded weight passes
// (store.ts: NaN, ±∞ and implausibly large weights mean a damaged file).
//
// On the bits: with the sign bit cleared, a float32's bit pattern orders as its magnitude
// does, +∞ is 0x7f800000 and every NaN is above it, so the largest |value| is the integer
// maximum of (bits & 0x7fffffff). A start runs this over every weight once (880k of them
// for a 2x256 LSTM), before V8 has optimised anything: the plain TypeScript loop ran in
// the interpreter at about 8 ns a value, 7 ms of `rnn sample`'s start. The same maximum in
// a WebAssembly SIMD loop, four lanes at a time over 64 KiB chunks copied into its memory,
// takes well under a millisecond:
//
//   (module
//     (memory (export "m") 1)
//     (func (export "f") (param $n i32)            ;; $n: bytes, a multiple of 16
//       (local $p i32) (local $max v128)
//       (block $done (loop $next
//         (br_if $done (i32.ge_u (local.get $p) (local.get $n)))
//         (local.set $max (i32x4.max_u (local.get $max)
//           (v128.and (v128.load (local.get $p)) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
//         (local.set $p (i32.add (local.get $p) (i32.const 16)))
//         (br $next)))
//       (v128.store (i32.const 0) (local.get $max))))  ;; the four lanes' maxima at [0, 16)
//
// A runtime without WebAssembly SIMD gets the TypeScript loop; both give the same result.

const MAX_BITS_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00, // type 0: (i32) -> ()
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // one memory of 1 page
  0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x66, 0x00, 0x00, // exports "m" (memory 0), "f" (function 0)
  0x0a, 0x47, 0x01, 0x45, // code: one body of 69 bytes
  0x02, 0x01, 0x7f, 0x01, 0x7b, // locals: $p i32, $max v128
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x01, 0x20, 0x00, 0x4f, 0x0d, 0x01, // br_if 1 ($p >= $n)
  0x20, 0x02, 0x20, 0x01, 0xfd, 0x00, 0x04, 0x00, // $max, v128.load $p
  0xfd, 0x0c, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, // v128.const
  0xfd, 0x4e, 0xfd, 0xb9, 0x01, 0x21, 0x02, // v128.and, i32x4.max_u, local.set $max
  0x20, 0x01, 0x41, 0x10, 0x6a, 0x21, 0x01, // $p += 16
  0x0c, 0x00, 0x0b, 0x0b, // br 0, end loop, end block
  0x41, 0x00, 0x20, 0x02, 0xfd, 0x0b, 0x04, 0x00, // v128.store at 0
  0x0b, // end
]);

/** Floats the module's one page of memory holds: the chunk size. */
const CHUNK = 65536 / 4;

type SimdMaxBits = { words: Int32Array; run: (bytes: number) => void };
let simd: SimdMaxBits | null | undefined;

function simdMaxBits(): SimdMaxBits | null {
  if (simd === undefined) {
    simd = null;
    if (typeof WebAssembly === 'object' && WebAssembly.validate(MAX_BITS_MODULE)) {
      const { exports } = new WebAssembly.Instance(new WebAssembly.Module(MAX_BITS_MODULE));
      simd = { words: new Int32Array((exports.m as WebAssembly.Memory).buffer), run: exports.f as (bytes: number) => void };
    }
  }
  return simd;
}

/** Whether this runtime runs the WebAssembly loop (else largestMagnitude is largestMagnitudeScalar). */
export function simdMagnitudeAvailable(): boolean {
  return simdMaxBits() !== null;
}

/** The largest |value| of `x` (∞ when there is one), or NaN when a value is NaN. */
export function largestMagnitude(x: Float32Array): number {
  const m = simdMaxBits();
  return m ? magnitudeOf(chunkedMaxBits(bitsOf(x), m)) : largestMagnitudeScalar(x);
}

/** The same in plain TypeScript (exported for the test that holds the two to a reference). */
export function largestMagnitudeScalar(x: Float32Array): number {
  return magnitudeOf(maxBits(bitsOf(x)));
}

const bitsOf = (x: Float32Array): Int32Array => new Int32Array(x.buffer, x.byteOffset, x.length);

/** The float of the largest cleared-sign bit pattern (NaN for any NaN pattern). */
function magnitudeOf(maxBits: number): number {
  if (maxBits > 0x7f800000) return Number.NaN;
  return new Float32Array(Int32Array.of(maxBits).buffer)[0]!;
}

function chunkedMaxBits(bits: Int32Array, m: SimdMaxBits): number {
  let max = 0;
  for (let at = 0; at < bits.length; at += CHUNK) {
    const n = Math.min(CHUNK, bits.length - at);
    const padded = (n + 3) & ~3;
    m.words.set(bits.subarray(at, at + n));
    m.words.fill(0, n, padded);
    m.run(padded * 4);
    max = Math.max(max, m.words[0]!, m.words[1]!, m.words[2]!, m.words[3]!);
  }
  return max;
}

function maxBits(bits: Int32Array): number {
  let max = 0;
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]! & 0x7fffffff;
    if (b > max) max = b;
  }
  return max;
}
