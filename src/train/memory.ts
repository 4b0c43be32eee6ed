// How much arena memory a training run needs, found before anything is allocated for real.
//
// The need is not a formula kept beside the code (it would drift from what the layers
// allocate): the task's session and the optimizer are built once on a counting arena, the
// same constructors the run uses, and every request is added up with the real backend's
// alignment (ArenaCapacity.footprint). That covers the parameters and their gradients,
// the optimizer's moments, the activations the workspace keeps for B × T, and whatever
// else the task allocates when it opens. The counting arena hands out plain typed arrays:
// their pages are mapped on first touch, and the constructors do not touch them, so even
// a need of many gigabytes costs nothing here.
//
//   need = Σ footprint(request) over task.open(…) and new Optimizer(…)
//   refuse when need > capacity.available()  (what the backend has left of its limit)
import type { Arena, ArenaCapacity, Kernels, Vec } from '../kernels/types.js';
import { ReferenceKernels } from '../kernels/reference.js';
import { DEFAULT_OPTIM, Optimizer } from '../nn/optim.js';
import type { Task } from '../tasks/task.js';
import { formatBytes, UsageError } from '../util/errors.js';
import type { TrainConfig } from './config.js';

/** What a run takes from the arena, in bytes. */
export interface MemoryNeed {
  /** Everything: parameters, gradients, optimizer moments, workspaces. */
  total: number;
  /** Of it, the weights, their gradients and the optimizer's moments. */
  weights: number;
  /** Parameters of the model. */
  parameterCount: number;
  /** True when the counting itself ran out of address space: the need is at least `total`. */
  atLeast: boolean;
}

/** An arena that allocates ordinary typed arrays and adds up what each request would take. */
class CountingArena implements Arena {
  readonly dtype = 'f32' as const;
  bytes = 0;
  failed = false;
  constructor(private readonly footprint: (bytes: number) => number) {}
  floats(n: number): Vec {
    this.bytes += this.footprint(n * 4);
    return this.make(() => new Float32Array(n), () => new Float32Array(0));
  }
  ints(n: number): Int32Array {
    this.bytes += this.footprint(n * 4);
    return this.make(() => new Int32Array(n), () => new Int32Array(0));
  }
  private make<T>(real: () => T, none: () => T): T {
    if (this.failed) return none();
    try {
      return real();
    } catch {
      // the process cannot even map that much: the count goes on, the need is "at least"
      this.failed = true;
      return none();
    }
  }
}

/** Measures the arena bytes a run of `task` on `data` with `config` takes (see the header). */
export function measureRun(task: Task, data: unknown, config: TrainConfig, capacity: ArenaCapacity): MemoryNeed {
  const arena = new CountingArena((b) => capacity.footprint(b));
  const counting: Kernels = Object.assign(Object.create(new ReferenceKernels('f32')) as Kernels, { arena: () => arena });
  let weights = 0;
  let parameterCount = 0;
  try {
    const session = task.open(counting, data, config);
    parameterCount = session.net.parameterCount;
    const before = arena.bytes;
    new Optimizer(counting, DEFAULT_OPTIM[config.optim], session.net.layout.size, session.net.arena);
    // the parameters and the gradients are one request each (ParamLayout.alloc)
    weights = arena.bytes - before + 2 * capacity.footprint(session.net.layout.size * 4);
  } catch (e) {
    // a constructor handed an empty array after the count ran past the address space
    if (!arena.failed) throw e;
  }
  return { total: arena.bytes, weights, parameterCount, atLeast: arena.failed };
}

/**
 * Refuses a run whose need exceeds what the kernels' arena has left: one line with the need,
 * the limit and the options that shrink it (exit 2). Kernels without a fixed limit pass.
 */
export function checkMemory(kernels: Kernels, task: Task, data: unknown, config: TrainConfig, resumedFrom?: string): void {
  const capacity = kernels.capacity;
  if (!capacity) return;
  const need = measureRun(task, data, config, capacity);
  const available = capacity.available();
  if (need.total <= available) return;
  const model = need.parameterCount > 0 ? `${config.layers}×${config.hidden} ${config.cell} (${formatCount(need.parameterCount)} parameters)` : `${config.layers}×${config.hidden} ${config.cell}`;
  const shrink = ['--hidden', '--layers', '--batch', ...(task.flags.includes('seq') ? ['--seq'] : []), ...(task.flags.includes('maxLen') ? ['--max-len'] : [])];
  const fix = resumedFrom
    ? `a resumed run keeps its shape: this backend cannot train ${resumedFrom}; start a smaller run (${shrink.join(', ')})`
    : `reduce ${shrink.slice(0, -1).join(', ')} or ${shrink.at(-1)}`;
  const parts = need.weights > 0 ? ` (${formatBytes(need.weights)} weights, gradients and ${config.optim} moments; ${formatBytes(need.total - need.weights)} activations and workspace)` : '';
  throw new UsageError(
    `a ${model} with --batch ${config.batch}${task.flags.includes('seq') ? ` --seq ${config.seq}` : ''} needs ${need.atLeast ? 'at least ' : ''}${formatBytes(need.total)} of memory${parts}, ` +
      `more than the ${formatBytes(available)} the ${kernels.name} backend can hold; ${fix}`,
  );
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
