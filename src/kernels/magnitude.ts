// The largest |value| of a float32 tensor, for the check every loaded weight passes
// (checkpoint/store.ts: NaN, ±∞ and implausibly large weights mean a damaged file).
//
// On the bits: with the sign bit cleared, a float32's bit pattern orders as its magnitude
// does, +∞ is 0x7f800000 and every NaN is above it, so the largest |value| is the integer
// maximum of (bits & 0x7fffffff). A start runs this over every weight once (880k of them
// for a 2x256 LSTM), before V8 has optimised anything: the plain TypeScript loop ran in
// the interpreter at about 8 ns a value, 7 ms of `rnn sample`'s start. The same maximum in
// a WebAssembly SIMD loop, four lanes at a time, takes well under a millisecond. The module
// imports its memory, so it reads the weights where they are: in place when they live in
// the kernels' WebAssembly memory (the model's parameters, which a start reads the file
// straight into), else in 64 KiB chunks copied into a page of its own:
//
//   (module
//     (import "e" "m" (memory 1 65536 shared))
//     (func (export "f") (param $p i32) (param $end i32) (result i32)  ;; [$p, $end): bytes, a multiple of 16
//       (local $max v128)
//       (block $done (loop $next
//         (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
//         (local.set $max (i32x4.max_u (local.get $max)
//           (v128.and (v128.load align=4 (local.get $p)) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
//         (local.set $p (i32.add (local.get $p) (i32.const 16)))
//         (br $next)))
//       ;; the four lanes' maximum: against the halves swapped, then the neighbours swapped
//       (local.set $max (i32x4.max_u (local.get $max) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $max) (local.get $max))))
//       (i32x4.extract_lane 0 (i32x4.max_u (local.get $max) (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $max) (local.get $max))))))
//
// A runtime without WebAssembly SIMD or shared memory gets the TypeScript loop; all paths
// give the same result.

const MAX_BITS_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type 0: (i32, i32) -> i32
  0x02, 0x0b, 0x01, 0x01, 0x65, 0x01, 0x6d, 0x02, 0x03, 0x01, 0x80, 0x80, 0x04, // import "e" "m": shared memory, 1 to 65536 pages
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f" (function 0)
  0x0a, 0x78, 0x01, 0x76, // code: one body of 118 bytes
  0x01, 0x01, 0x7b, // locals: $max v128
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x00, 0x20, 0x01, 0x4f, 0x0d, 0x01, // br_if 1 ($p >= $end)
  0x20, 0x02, 0x20, 0x00, 0xfd, 0x00, 0x02, 0x00, // $max, v128.load $p
  0xfd, 0x0c, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, // v128.const
  0xfd, 0x4e, 0xfd, 0xb9, 0x01, 0x21, 0x02, // v128.and, i32x4.max_u, local.set $max
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // $p += 16
  0x0c, 0x00, 0x0b, 0x0b, // br 0, end loop, end block
  0x20, 0x02, 0x20, 0x02, 0x20, 0x02, 0xfd, 0x0d, // $max, i8x16.shuffle of $max, $max:
  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, // the halves swapped
  0xfd, 0xb9, 0x01, 0x21, 0x02, // i32x4.max_u, local.set $max
  0x20, 0x02, 0x20, 0x02, 0x20, 0x02, 0xfd, 0x0d, // $max, i8x16.shuffle of $max, $max:
  0x04, 0x05, 0x06, 0x07, 0x00, 0x01, 0x02, 0x03, 0x0c, 0x0d, 0x0e, 0x0f, 0x08, 0x09, 0x0a, 0x0b, // the neighbours swapped
  0xfd, 0xb9, 0x01, 0xfd, 0x1b, 0x00, // i32x4.max_u, i32x4.extract_lane 0
  0x0b, // end
]);

/** Floats the copying path's one page holds: its chunk. */
const CHUNK = 65536 / 4;

type MaxBitsFn = (p: number, end: number) => number;
let compiled: WebAssembly.Module | null | undefined;
/** The module's function over each memory it has been given (and the copying path's page). */
const instances = new WeakMap<WebAssembly.Memory, MaxBitsFn>();
let page: { words: Int32Array; run: MaxBitsFn } | null | undefined;

function moduleOrNull(): WebAssembly.Module | null {
  if (compiled === undefined) {
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(MAX_BITS_MODULE) ? new WebAssembly.Module(MAX_BITS_MODULE) : null;
  }
  return compiled;
}

function maxBitsOver(memory: WebAssembly.Memory): MaxBitsFn {
  let f = instances.get(memory);
  if (!f) {
    f = new WebAssembly.Instance(moduleOrNull()!, { e: { m: memory } }).exports.f as MaxBitsFn;
    instances.set(memory, f);
  }
  return f;
}

function copyingPage(): { words: Int32Array; run: MaxBitsFn } | null {
  if (page === undefined) {
    page = null;
    if (moduleOrNull()) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      page = { words: new Int32Array(memory.buffer), run: maxBitsOver(memory) };
    }
  }
  return page;
}

/** Whether this runtime runs the WebAssembly loop (else largestMagnitude is largestMagnitudeScalar). */
export function simdMagnitudeAvailable(): boolean {
  return moduleOrNull() !== null;
}

/** The largest |value| of `x` (∞ when there is one), or NaN when a value is NaN. */
export function largestMagnitude(x: Float32Array): number {
  const m = copyingPage();
  return m ? magnitudeOfBits(chunkedMaxBits(bitsOf(x), m)) : largestMagnitudeScalar(x);
}

/**
 * The same for a view of a shared WebAssembly memory (the WebAssembly kernels'), read in
 * place. The caller has checked that `x` lives in `memory`.
 */
export function largestMagnitudeIn(memory: WebAssembly.Memory, x: Float32Array): number {
  if (!moduleOrNull()) return largestMagnitudeScalar(x);
  const bits = bitsOf(x);
  const lanes = bits.length & ~3;
  const max = maxBitsOver(memory)(x.byteOffset, x.byteOffset + lanes * 4);
  return magnitudeOfBits(Math.max(max, maxBits(bits.subarray(lanes))));
}

/** The same in plain TypeScript (exported for the test that holds the two to a reference). */
export function largestMagnitudeScalar(x: Float32Array): number {
  return magnitudeOfBits(maxBits(bitsOf(x)));
}

const bitsOf = (x: Float32Array): Int32Array => new Int32Array(x.buffer, x.byteOffset, x.length);

/** The float of the largest cleared-sign bit pattern (NaN for any NaN pattern). */
export function magnitudeOfBits(maxBits: number): number {
  if (maxBits > 0x7f800000) return Number.NaN;
  return new Float32Array(Int32Array.of(maxBits).buffer)[0]!;
}

function chunkedMaxBits(bits: Int32Array, m: { words: Int32Array; run: MaxBitsFn }): number {
  let max = 0;
  for (let at = 0; at < bits.length; at += CHUNK) {
    const n = Math.min(CHUNK, bits.length - at);
    const padded = (n + 3) & ~3;
    m.words.set(bits.subarray(at, at + n));
    m.words.fill(0, n, padded);
    max = Math.max(max, m.run(0, padded * 4));
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
