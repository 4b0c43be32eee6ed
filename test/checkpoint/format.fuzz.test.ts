// Fuzzing whole checkpoints: thousands of mutations of a real training checkpoint (the
// v1 fixture) go through decodeCheckpoint. Each must either give a model that builds and
// runs a forward pass to finite logits, or throw CheckpointError with one line naming the
// file; nothing else may escape, hang (the time limit) or allocate more than the file
// holds (the decoded tensors are checked against the file size, and absurd sizes in the
// metadata must be refused before anything is built from them).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type TensorIn } from '../../src/checkpoint/safetensors.js';
import { decodeCheckpoint, modelFromCheckpoint, type Checkpoint } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import { CheckpointError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const FILE = 'fuzzed.safetensors';
const BASE = new Uint8Array(readFileSync(new URL('../fixtures/checkpoints/v1-lstm-train.safetensors', import.meta.url)));
const MUTATIONS = 3000;
const kernels = new ReferenceKernels('f32');

const pick = <T,>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)]!;

interface Parts {
  metadata: Record<string, string>;
  tensors: TensorIn[];
}

function parts(bytes: Uint8Array): Parts {
  const { metadata, tensors } = decodeSafetensors(bytes, 'base');
  return { metadata, tensors: [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })) };
}

const encode = (p: Parts): Uint8Array => encodeSafetensors(p.tensors, p.metadata);

const WEIRD: unknown[] = [0, -1, 1, 2, 3, 7, 8, 9, 16, 17, 1e9, 2 ** 31, 2 ** 53, 1e300, 1.5, -0, '8', null, true, [], {}, 'lstm', 'gru', 'rnn', 'gru-min', 'lstm-peep', 'nope'];

/** Edits of the metadata's JSON values. */
const metaEdits: Array<(p: Parts, rng: Rng) => void> = [
  (p, rng) => {
    const model = JSON.parse(p.metadata.model!) as Record<string, unknown>;
    model[pick(rng, ['cell', 'vocab', 'embed', 'hidden', 'layers', 'extra'])] = pick(rng, WEIRD);
    p.metadata.model = JSON.stringify(model);
  },
  (p, rng) => {
    const model = JSON.parse(p.metadata.model!) as Record<string, number>;
    [model.embed, model.hidden] = [model.hidden!, model.embed!];
    if (rng.int(2)) [model.vocab, model.hidden] = [model.hidden!, model.vocab!];
    p.metadata.model = JSON.stringify(model);
  },
  (p, rng) => {
    const vocab = JSON.parse(p.metadata.vocab!) as unknown[];
    const edit = rng.int(6);
    if (edit === 0) vocab.pop();
    else if (edit === 1) vocab.push(pick(rng, ['z', 'é', '😀', 'ab', '', '\ud800', 1, null]));
    else if (edit === 2) vocab[rng.int(vocab.length)] = vocab[rng.int(vocab.length)];
    else if (edit === 3) vocab[rng.int(vocab.length)] = pick(rng, ['ab', '', '\udc00', 7, null, ['a']]);
    else if (edit === 4) vocab.reverse();
    else vocab.length = 0;
    p.metadata.vocab = JSON.stringify(vocab);
  },
  (p, rng) => {
    p.metadata.format_version = pick(rng, ['0', '2', '99', '-1', '1.5', '', 'one', '1e400', 'NaN', ' 1 ', '01']);
  },
  (p, rng) => {
    p.metadata.format = pick(rng, ['', 'rnn', 'rnn-charlm ', 'RNN-CHARLM', 'torch']);
  },
  (p, rng) => {
    const key = pick(rng, ['model', 'vocab', 'train', 'progress', 'optimizer', 'cell']);
    if (rng.int(2)) delete p.metadata[key];
    else p.metadata[key] = pick(rng, ['', 'null', '{', '[]', '{}', '"x"', '1e999', '{"batch":2}', '[1,2,3]']);
  },
  (p, rng) => {
    for (const key of ['train', 'progress', 'optimizer']) {
      const value = JSON.parse(p.metadata[key]!) as Record<string, unknown>;
      const field = pick(rng, [...Object.keys(value), 'extra']);
      value[field] = pick(rng, WEIRD);
      p.metadata[key] = JSON.stringify(value);
    }
  },
];

/** Edits of the tensors, re-encoded into a well-formed container. */
const tensorEdits: Array<(p: Parts, rng: Rng) => void> = [
  (p, rng) => void p.tensors.splice(rng.int(p.tensors.length), 1),
  (p, rng) => {
    const t = pick(rng, p.tensors);
    t.name = pick(rng, ['rnn.weight_ih_l2', 'embed.weights', `${t.name}.x`, 'state.h_l5', 'optim.m.extra', t.name.toUpperCase()]);
    if (p.tensors.filter((u) => u.name === t.name).length > 1) t.name += '.dup';
  },
  (p, rng) => {
    const t = pick(rng, p.tensors);
    if (t.shape.length === 2) t.shape = [t.shape[1]!, t.shape[0]!];
    else t.shape = [1, ...t.shape];
  },
  (p, rng) => {
    const t = pick(rng, p.tensors);
    const data = new Float32Array(t.data.length + pick(rng, [-1, 1, 4]));
    data.set(t.data.subarray(0, data.length));
    t.data = data;
    t.shape = [data.length];
  },
  (p, rng) => {
    const t = pick(rng, p.tensors);
    const data = Float32Array.from(t.data);
    data[rng.int(data.length)] = pick(rng, [NaN, Infinity, -Infinity, 3e38, -0]);
    t.data = data;
  },
  (p, rng) => {
    const t = pick(rng, p.tensors);
    t.data = Int32Array.from(t.data, (x) => Math.round(x * 1000));
  },
];

/** Byte-level damage of the whole file. */
const byteEdits: Array<(b: Uint8Array, rng: Rng) => Uint8Array> = [
  (b, rng) => {
    const out = b.slice();
    for (let k = 1 + rng.int(4); k > 0; k--) {
      const i = rng.int(out.length);
      out[i] = out[i]! ^ (1 << rng.int(8));
    }
    return out;
  },
  (b, rng) => {
    // flip a bit in the header, where it matters most
    const out = b.slice();
    const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    const i = 8 + rng.int(n);
    out[i] = out[i]! ^ (1 << rng.int(8));
    return out;
  },
  (b, rng) => b.slice(0, rng.int(b.length)),
  (b, rng) => {
    const out = b.slice();
    new DataView(out.buffer).setBigUint64(0, pick(rng, [0n, 7n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n, BigInt(b.length)]), true);
    return out;
  },
];

function mutate(rng: Rng): Uint8Array {
  const kind = rng.int(10);
  if (kind < 3) return pick(rng, byteEdits)(BASE, rng);
  const p = parts(BASE);
  for (let k = 1 + rng.int(2); k > 0; k--) {
    try {
      if (kind < 7) pick(rng, metaEdits)(p, rng);
      else pick(rng, tensorEdits)(p, rng);
    } catch {
      // an earlier edit removed or broke what this one edits: keep the file as it is
    }
  }
  return encode(p);
}

/** What a loaded checkpoint must satisfy: consistent sizes, and a model that runs. */
function checkLoaded(ckpt: Checkpoint, fileLength: number): void {
  let bytes = 0;
  for (const p of ckpt.params.values()) bytes += p.byteLength;
  expect(bytes).toBeLessThanOrEqual(fileLength);
  const model = modelFromCheckpoint(kernels, ckpt);
  expect(ckpt.vocab.size).toBe(model.config.vocab);
  const ws = model.workspace(1, 2, false);
  ws.ids.set([0, model.config.vocab - 1]);
  ws.forward();
  expect(ws.logits.every(Number.isFinite)).toBe(true);
}

describe('decodeCheckpoint under fuzzing', () => {
  it('absurd sizes in the metadata are refused at once, not built', () => {
    for (const [key, value] of [['layers', 1e9], ['layers', 2 ** 53 - 1], ['hidden', 1e9], ['vocab', 1e12], ['embed', 2 ** 40]] as const) {
      const p = parts(BASE);
      const model = JSON.parse(p.metadata.model!) as Record<string, unknown>;
      model[key] = value;
      if (key === 'vocab') p.metadata.vocab = JSON.stringify([...Array(5)].map((_, i) => String.fromCharCode(65 + i)));
      p.metadata.model = JSON.stringify(model);
      const t0 = performance.now();
      expect(() => decodeCheckpoint(encode(p), FILE)).toThrow(CheckpointError);
      expect(performance.now() - t0).toBeLessThan(500);
    }
  });

  it(`survives ${MUTATIONS} mutations: loads a working model or throws a one-line CheckpointError`, () => {
    expect(() => checkLoaded(decodeCheckpoint(BASE, FILE), BASE.length)).not.toThrow();
    const rng = new Rng(6_2024);
    const outcomes = { loaded: 0, rejected: 0 };
    const wrong: string[] = [];
    for (let i = 0; i < MUTATIONS; i++) {
      const bytes = mutate(rng);
      let ckpt: Checkpoint;
      try {
        ckpt = decodeCheckpoint(bytes, FILE);
      } catch (err) {
        if (err instanceof CheckpointError && err.message.startsWith(`${FILE}: `) && !err.message.includes('\n') && err.message.length < 300) {
          outcomes.rejected++;
        } else if (wrong.length < 5) {
          wrong.push(`mutation ${i}: ${String(err).slice(0, 300)}`);
        }
        continue;
      }
      outcomes.loaded++;
      try {
        checkLoaded(ckpt, bytes.length);
      } catch (err) {
        if (wrong.length < 5) wrong.push(`mutation ${i} loaded but: ${String(err).slice(0, 300)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(outcomes.loaded).toBeGreaterThan(100);
    expect(outcomes.rejected).toBeGreaterThan(1000);
  });
});
