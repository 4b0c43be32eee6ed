// The WebAssembly backend's memory: one shared WebAssembly.Memory that holds every tensor,
// a bump allocator over it, the arena that hands out views of it, and the checks that turn
// a view into the byte offset a kernel takes.
//
// Layout: [0, 64 KiB) is never handed out (pointer 0 means "no array"); above it, in the
// order asked: the main thread's GEMM packing area, the views the model asks for, and
// (lazily) the thread pool's job block and the workers' packing areas. Nothing is freed;
// the memory grows as needed. A shared memory's old buffers stay valid after a grow, so
// earlier views keep working.
import { MemoryLimitError } from '../../util/errors.js';
import type { Arena, Dtype, Vec } from '../types.js';

const PAGE = 65536;
const RESERVED_BYTES = 65536;
const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
/** The most this memory can ever hold, in bytes. */
export const WASM_MEMORY_LIMIT = MAX_PAGES * PAGE;
const INITIAL_PAGES = 64;
const ALIGN = 64;

/** The bytes one allocation of `bytes` takes in the memory (rounded up to the alignment). */
export function allocatedBytes(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}

type View = Float32Array | Float64Array | Int32Array;

export class WasmMemory {
  readonly memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  private buffer = this.memory.buffer as unknown as SharedArrayBuffer;
  private readonly oldBuffers = new WeakSet<ArrayBufferLike>();
  private top = RESERVED_BYTES;

  /** Bump-allocates `bytes` (64-byte aligned, zeroed: the memory is fresh), growing the memory. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`arena: bad size ${bytes} bytes`);
    const p = this.top;
    const end = p + allocatedBytes(bytes);
    const have = this.buffer.byteLength;
    if (end > have) {
      const needPages = Math.ceil((end - have) / PAGE);
      const curPages = have / PAGE;
      const pages = Math.min(Math.max(needPages, curPages >> 2), MAX_PAGES - curPages);
      if (pages < needPages) throw new MemoryLimitError(end, WASM_MEMORY_LIMIT);
      try {
        this.memory.grow(pages);
      } catch (e) {
        // the system would not give the pages (less RAM than the wasm32 limit)
        if (e instanceof RangeError) throw new MemoryLimitError(end, have);
        throw e;
      }
      this.oldBuffers.add(this.buffer);
      this.buffer = this.memory.buffer as unknown as SharedArrayBuffer;
    }
    this.top = end;
    return p;
  }

  /** Bytes handed out so far (the reserved bottom included). */
  get used(): number {
    return this.top;
  }

  /** The current buffer of the memory (new views are created over it). */
  get currentBuffer(): SharedArrayBuffer {
    return this.buffer;
  }

  /** Int32 words at a byte offset (for control blocks the allocator handed out). */
  words(ptr: number, n: number): Int32Array {
    return new Int32Array(this.buffer, ptr, n);
  }

  arena(): Arena {
    return new WasmArena(this);
  }

  /** Byte offset of a float view of this memory with at least `need` elements. */
  floatPtr(v: Vec, need: number, what: string): number {
    if (!(v instanceof Float32Array)) throw new TypeError(`wasm kernels: ${what} must be a Float32Array (dtype f32)`);
    return this.at(v, need, what);
  }

  /** Byte offset of an int32 view of this memory with at least `need` elements. */
  intPtr(v: Int32Array, need: number, what: string): number {
    if (!(v instanceof Int32Array)) throw new TypeError(`wasm kernels: ${what} must be an Int32Array`);
    return this.at(v, need, what);
  }

  private at(v: View, need: number, what: string): number {
    const b = v.buffer;
    if (b !== this.buffer && !this.oldBuffers.has(b) && !this.adopt(b)) {
      throw new Error(
        `wasm kernels: ${what} does not live in this backend's memory; allocate it with kernels.arena()`,
      );
    }
    if (v.length < need) {
      throw new RangeError(`wasm kernels: ${what} has ${v.length} elements, the call needs ${need}`);
    }
    return v.byteOffset;
  }

  /** A shared memory may hand out a new buffer object for the same store: accept the current one. */
  private adopt(b: ArrayBufferLike): boolean {
    const cur = this.memory.buffer as unknown as SharedArrayBuffer;
    if (cur !== this.buffer) {
      this.oldBuffers.add(this.buffer);
      this.buffer = cur;
    }
    return b === cur;
  }
}

class WasmArena implements Arena {
  readonly dtype: Dtype = 'f32';
  constructor(private readonly mem: WasmMemory) {}
  floats(n: number): Float32Array {
    const p = this.mem.alloc(n * 4);
    return new Float32Array(this.mem.currentBuffer, p, n);
  }
  ints(n: number): Int32Array {
    const p = this.mem.alloc(n * 4);
    return new Int32Array(this.mem.currentBuffer, p, n);
  }
}
