// A reusable arena over one preallocated block: views are handed out from the start on
// each reset(), so buffers shaped for a batch (B, S, T vary from batch to batch) cost no
// new memory. The block comes from the backend's own arena, so every view lives where the
// kernels need it (the WebAssembly memory).
//
// A pass (reset(), the views of one shape, end()) that does not fit in the block takes the
// views that do not fit from the backend's arena one by one, and end() then takes a block
// for the whole pass, so that every later pass of up to that size fits. Callers shape once
// at the largest size first (when the session opens), so all of a run's memory is taken
// then and counted in its up-front need (src/train/memory.ts).
import type { Arena, Dtype, Vec } from '../kernels/types.js';

const ALIGN = 16; // elements: 64 bytes for float32 and int32

export class SlabArena implements Arena {
  readonly dtype: Dtype;
  private floatBlock: Vec;
  private intBlock: Int32Array;
  private floatAt = 0;
  private intAt = 0;
  /** Elements this pass asked for, the views that did not fit included. */
  private floatPass = 0;
  private intPass = 0;

  constructor(private readonly base: Arena) {
    this.dtype = base.dtype;
    this.floatBlock = base.floats(0);
    this.intBlock = base.ints(0);
  }

  /** Starts handing out views from the beginning again (earlier views must no longer be used). */
  reset(): void {
    this.floatAt = 0;
    this.intAt = 0;
    this.floatPass = 0;
    this.intPass = 0;
  }

  /** Ends a pass: when it did not fit in the block, takes a block that holds all of it. */
  end(): void {
    if (this.floatPass > this.floatBlock.length) this.floatBlock = this.base.floats(this.floatPass);
    if (this.intPass > this.intBlock.length) this.intBlock = this.base.ints(this.intPass);
  }

  floats(n: number): Vec {
    const size = Math.ceil(n / ALIGN) * ALIGN;
    this.floatPass += size;
    const end = this.floatAt + size;
    // (a view the block cannot hold is fresh memory of its own, zero already)
    if (end > this.floatBlock.length) return this.base.floats(size).subarray(0, n);
    const v = this.floatBlock.subarray(this.floatAt, this.floatAt + n);
    v.fill(0);
    this.floatAt = end;
    return v;
  }

  ints(n: number): Int32Array {
    const size = Math.ceil(n / ALIGN) * ALIGN;
    this.intPass += size;
    const end = this.intAt + size;
    if (end > this.intBlock.length) return this.base.ints(size).subarray(0, n);
    const v = this.intBlock.subarray(this.intAt, this.intAt + n);
    v.fill(0);
    this.intAt = end;
    return v;
  }
}
