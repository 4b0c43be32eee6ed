// A reusable arena over one preallocated block: views are handed out from the start on
// each reset(), so buffers shaped for a batch (B, S, T vary from batch to batch) cost no
// new memory. The block comes from the backend's own arena, so every view lives where the
// kernels need it (the WebAssembly memory); when a shape needs more than the block holds, a
// larger block is taken once and kept.
import type { Arena, Dtype, Vec } from '../kernels/types.js';

const ALIGN = 16; // elements: 64 bytes for float32 and int32

export class SlabArena implements Arena {
  readonly dtype: Dtype;
  private floatBlock: Vec;
  private intBlock: Int32Array;
  private floatAt = 0;
  private intAt = 0;
  private floatNeed = 0;
  private intNeed = 0;

  constructor(private readonly base: Arena) {
    this.dtype = base.dtype;
    this.floatBlock = base.floats(0);
    this.intBlock = base.ints(0);
  }

  /** Starts handing out views from the beginning again (earlier views must no longer be used). */
  reset(): void {
    this.floatAt = 0;
    this.intAt = 0;
  }

  floats(n: number): Vec {
    const end = this.floatAt + Math.ceil(n / ALIGN) * ALIGN;
    if (end > this.floatBlock.length) {
      // grow: the views handed out before this reset stay valid in the old block; callers
      // shape once at the largest size first, so this happens at most once in a run
      this.floatNeed = Math.max(end, 2 * this.floatBlock.length);
      this.floatBlock = this.base.floats(this.floatNeed);
      this.floatAt = 0;
      return this.floats(n);
    }
    const v = this.floatBlock.subarray(this.floatAt, this.floatAt + n);
    v.fill(0);
    this.floatAt = end;
    return v;
  }

  ints(n: number): Int32Array {
    const end = this.intAt + Math.ceil(n / ALIGN) * ALIGN;
    if (end > this.intBlock.length) {
      this.intNeed = Math.max(end, 2 * this.intBlock.length);
      this.intBlock = this.base.ints(this.intNeed);
      this.intAt = 0;
      return this.ints(n);
    }
    const v = this.intBlock.subarray(this.intAt, this.intAt + n);
    v.fill(0);
    this.intAt = end;
    return v;
  }
}
