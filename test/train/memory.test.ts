// The memory a run needs is measured, not guessed: building the session and optimizer on
// the counting arena gives exactly the bytes the WebAssembly memory hands out for them,
// its training steps and its evaluations, for every task; a run past the limit is refused
// before anything trains, fresh or resumed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { ArenaCapacity, Kernels } from '../../src/kernels/types.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { DEFAULT_OPTIM, Optimizer } from '../../src/nn/optim.js';
import { taskByName } from '../../src/tasks/registry.js';
import { measureRun } from '../../src/train/memory.js';
import { freshConfig, prepareRun } from '../../src/train/run.js';
import { UsageError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'rnn-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const files: Record<string, string> = {
  lm: 'the cat sat on the mat and the dog lay on the log.\n'.repeat(20),
  classify: Array.from({ length: 40 }, (_, i) => `${i % 2 ? 'odd' : 'even'}\t${'ab'.repeat(1 + (i % 5))} ${i}`).join('\n'),
  cond: Array.from({ length: 40 }, (_, i) => `${i % 2 ? 'odd' : 'even'}\tsome words ${i} and more`).join('\n'),
  seq2seq: Array.from({ length: 40 }, (_, i) => `abc${i}\t${i}cba`).join('\n'),
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, `${name}.txt`), text);
const SMALL = { layers: 2, hidden: 8, embed: 4, batch: 3, seq: 5, steps: 5 };

describe('measureRun', () => {
  for (const name of Object.keys(files)) {
    it(`counts what the WebAssembly memory hands out for a ${name} session, its optimizer and its evaluations`, async () => {
      const task = taskByName(name);
      const config = freshConfig(task, { ...SMALL, seq: undefined, ...(task.flags.includes('seq') ? { seq: 5 } : {}) });
      const data = await task.readData({ path: join(dir, `${name}.txt`) }, config, null);
      const wasm = createWasmKernels({ threads: 1 }) as Kernels & { mem?: unknown };
      const capacity = wasm.capacity!;
      const need = measureRun(task, data, config, capacity);
      const before = capacity.available();
      const session = task.open(wasm, data, config);
      new Optimizer(wasm, DEFAULT_OPTIM[config.optim], session.net.layout.size, session.net.arena);
      // a training step and two evaluations take nothing more (the evaluation's workspace
      // was made when the session opened)
      session.trainStep(new Rng(1));
      expect(session.evaluate()).not.toBeNull();
      session.evaluate();
      expect(before - capacity.available()).toBe(need.total);
      expect(need.atLeast).toBe(false);
      expect(need.parameterCount).toBe(session.net.parameterCount);
      expect(need.weights).toBeGreaterThan(4 * 4 * session.net.parameterCount - 1);
    });
  }
});

/** Reference kernels whose arena claims a limit of `limit` bytes. */
function limited(limit: number): Kernels {
  const capacity: ArenaCapacity = { limit, available: () => limit, footprint: (b) => Math.ceil(b / 64) * 64 };
  return Object.assign(Object.create(new ReferenceKernels('f32')) as Kernels, { capacity });
}

describe('a run past the limit', () => {
  for (const name of Object.keys(files)) {
    it(`is refused before it starts (${name})`, async () => {
      const run = prepareRun({ kernels: limited(10_000), task: name, input: { path: join(dir, `${name}.txt`) }, options: { ...SMALL, ...(name === 'lm' || name === 'cond' ? {} : { seq: undefined }) } });
      await expect(run).rejects.toThrow(UsageError);
      await expect(run).rejects.toThrow(/needs [\d.]+ KiB of memory .*more than the 9\.8 KiB the reference-f32 backend can hold; reduce --hidden, --layers/);
    });
  }

  it('is refused on resume too, naming the checkpoint', async () => {
    const k = new ReferenceKernels('f32');
    const first = await prepareRun({ kernels: k, input: { path: join(dir, 'lm.txt') }, options: SMALL });
    first.trainer.step();
    const ckpt = decodeCheckpoint(encodeCheckpoint(first.header, first.trainer.state()), 'big.safetensors');
    const run = prepareRun({ kernels: limited(10_000), input: { path: join(dir, 'lm.txt') }, options: { steps: 9 }, resume: ckpt });
    await expect(run).rejects.toThrow(/a resumed run keeps its shape: this backend cannot train big\.safetensors/);
  });
});
