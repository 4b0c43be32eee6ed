// A program written against the installed package, as a user writes one: it is type-checked
// against the package's declarations (dist/*.d.ts) and run against dist/index.js. It trains a
// tiny model, saves and resumes it, evaluates, samples, scores and exports; it prints one JSON
// line with what it saw.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createKernels, evaluateText, exportOnnx, Generation, LineScorer, modelFromCheckpoint, prepareRun, readCheckpoint,
  saveCheckpoint, Sampler, type RunState, type TrainEvent,
} from 'rnn-charlm';

const dir = mkdtempSync(join(tmpdir(), 'rnn-consumer-'));
const text = 'the cat sat on the mat. the dog sat on the log.\n'.repeat(30);
const kernels = createKernels({ backend: 'reference' });
const options = { layers: 1, hidden: 16, embed: 8, batch: 4, seq: 16, steps: 20, evalEvery: 10, seed: 3, lr: 0.01 };

async function train(prepared: Awaited<ReturnType<typeof prepareRun>>, path: string): Promise<number> {
  const events: TrainEvent[] = [];
  await prepared.trainer.run({
    onEvent: (e) => events.push(e),
    save: async (state: RunState) => {
      await saveCheckpoint(path, prepared.header, state);
      return path;
    },
    stopRequested: () => false,
  });
  return events.filter((e) => e.type === 'step').length;
}

const path = join(dir, 'run-last.safetensors');
const fresh = await prepareRun({ kernels, input: { path: '-', stdin: new TextEncoder().encode(text) }, options });
const steps = await train(fresh, path);
const resumed = await prepareRun({ kernels, input: { path: '-', stdin: new TextEncoder().encode(text) }, options: { steps: 30 }, resume: await readCheckpoint(path) });
const moreSteps = await train(resumed, path);

const ckpt = await readCheckpoint(path, { weightsOnly: true });
const model = modelFromCheckpoint(kernels, ckpt);
const nats = evaluateText(model, ckpt.vocab, text).nats;
const sampler = new Sampler(model, ckpt.vocab, { temp: 0.8, topK: 0, topP: 1, seed: 1 });
sampler.start();
const generation = new Generation(sampler, { length: 40, lines: 0, stops: [], keepStop: false }, '');
let sample = '';
while (!generation.done) sample += generation.take(40);
const bpc: number = new LineScorer(model, ckpt.vocab).score('the cat sat on the mat.').bpc;
const onnxBytes = exportOnnx({ model: ckpt.model, params: ckpt.params, chars: ckpt.vocab.toJSON() }).length;
console.log(JSON.stringify({ steps, moreSteps, step: resumed.trainer.progress.step, nats, bpc, sample, onnxBytes }));
