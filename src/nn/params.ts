// One flat parameter buffer carved into named views from one size table. Gradients and
// optimizer moments are further flat buffers of the same length and layout, so clipping
// and optimizers run over them in one pass each.
import type { Arena, Vec } from '../kernels/types.js';

export interface ParamSpec {
  name: string;
  shape: number[];
}

/** Offsets are rounded up to 16 elements so every view starts on a 64-byte boundary. */
const ALIGN = 16;

export class ParamLayout {
  readonly specs: readonly ParamSpec[];
  readonly offsets: ReadonlyMap<string, number>;
  /** Elements in the flat buffer, padding included. */
  readonly size: number;
  /** Elements that are real parameters. */
  readonly count: number;

  constructor(specs: ParamSpec[]) {
    const offsets = new Map<string, number>();
    let at = 0;
    let count = 0;
    for (const s of specs) {
      if (offsets.has(s.name)) throw new Error(`duplicate parameter ${s.name}`);
      offsets.set(s.name, at);
      const n = numel(s.shape);
      count += n;
      at += Math.ceil(n / ALIGN) * ALIGN;
    }
    this.specs = specs;
    this.offsets = offsets;
    this.size = at;
    this.count = count;
  }

  spec(name: string): ParamSpec {
    const s = this.specs.find((p) => p.name === name);
    if (!s) throw new Error(`no parameter ${name}`);
    return s;
  }

  /** The named view of a flat buffer laid out by this table. */
  view(flat: Vec, name: string): Vec {
    const at = this.offsets.get(name);
    if (at === undefined) throw new Error(`no parameter ${name}`);
    return flat.subarray(at, at + numel(this.spec(name).shape));
  }

  has(name: string): boolean {
    return this.offsets.has(name);
  }

  alloc(arena: Arena): Vec {
    return arena.floats(this.size);
  }
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
