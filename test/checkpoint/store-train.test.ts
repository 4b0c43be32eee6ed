// The training side of the checkpoint format: what resume needs round-trips, older
// progress records without the newer fields still resume, and non-finite weights are
// never written.
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { decodeCheckpoint } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Trainer } from '../../src/train/trainer.js';
import { CheckpointError, TrainingError } from '../../src/util/errors.js';
import { checkpointBytes as encodeTrainerCheckpoint, config, lmTrainer, resumeTrainer } from '../train/config.js';

const k = new ReferenceKernels('f32');
const TEXT = 'a stitch in time saves nine; many hands make light work.\n'.repeat(8);

function trained(steps: number, over = {}): Trainer {
  const t = lmTrainer(k, TEXT, config({ batch: 2, seq: 8, layers: 2, hidden: 8, dropout: 0.3, ...over }));
  for (let i = 0; i < steps; i++) t.step();
  return t;
}

/** Rewrites one metadata entry of an encoded checkpoint. */
function withMetadata(bytes: Uint8Array, edit: (m: Record<string, string>) => void): Uint8Array {
  const { metadata, tensors } = decodeSafetensors(bytes, 'x');
  edit(metadata);
  return encodeSafetensors([...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data as Float32Array })), metadata);
}

describe('trainer checkpoints', () => {
  it('round-trip everything resume needs: weights, moments, carried state, both RNG streams, lr scale', () => {
    const t = trained(5);
    t.progress.lrScale = 0.5;
    const bytes = encodeTrainerCheckpoint(t);
    expect(decodeCheckpoint(bytes, 'mem').train!.dropout).toBe(0.3);
    const u = resumeTrainer(k, bytes, TEXT);
    // JSON writes the RNGs' empty Box–Muller slot (NaN) as null; setState reads it back as NaN
    expect({ ...u.progress, rng: null, dropoutRng: null }).toEqual({ ...t.progress, rng: null, dropoutRng: null });
    expect(u.rng.getState()).toEqual(t.rng.getState());
    expect(u.dropoutRng.getState()).toEqual(t.dropoutRng.getState());
    expect(u.learningRate()).toBe(t.learningRate());
    const a = t.step();
    const b = u.step();
    expect(b.loss).toBe(a.loss);
    expect(Array.from(u.model.params)).toEqual(Array.from(t.model.params));
  });

  it('a progress record from before dropout, lr scale and loss sums were saved still resumes', () => {
    const t = trained(3, { dropout: 0 });
    const old = withMetadata(encodeTrainerCheckpoint(t), (m) => {
      const train = JSON.parse(m.train);
      delete train.dropout;
      m.train = JSON.stringify(train);
      const p = JSON.parse(m.progress);
      for (const key of ['dropoutRng', 'scheduleTotal', 'lrScale', 'rollbacks', 'lossSum', 'lossCount']) delete p[key];
      m.progress = JSON.stringify(p);
    });
    const ckpt = decodeCheckpoint(old, 'old');
    expect(ckpt.train!.dropout).toBe(0);
    const u = resumeTrainer(k, old, TEXT);
    expect(u.progress.lrScale).toBe(1);
    expect(u.progress.step).toBe(3);
    expect(() => u.step()).not.toThrow();
  });

  it('refuses to write non-finite weights or moments', () => {
    const t = trained(2);
    t.model.params[0] = Number.NaN;
    expect(() => encodeTrainerCheckpoint(t)).toThrow(TrainingError);
    t.model.params[0] = 0;
    t.optimizer.moments.get('v')![1] = Number.POSITIVE_INFINITY;
    expect(() => encodeTrainerCheckpoint(t)).toThrow(/refusing to write/);
  });

  it('an invalid dropout in the metadata is a CheckpointError', () => {
    const bad = withMetadata(encodeTrainerCheckpoint(trained(1)), (m) => {
      m.train = JSON.stringify({ ...JSON.parse(m.train), dropout: 1.5 });
    });
    expect(() => decodeCheckpoint(bad, 'bad')).toThrow(CheckpointError);
  });
});

describe('loading for sampling', () => {
  it('weightsOnly leaves the moments out but keeps every weight and the metadata', () => {
    const bytes = encodeTrainerCheckpoint(trained(3));
    const full = decodeCheckpoint(bytes, 'mem');
    const light = decodeCheckpoint(bytes, 'mem', { weightsOnly: true });
    expect(Object.keys(full.state!.moments)).toEqual(['m', 'v']);
    expect(light.state).toBeNull();
    expect([...light.params.keys()]).toEqual([...full.params.keys()]);
    for (const [name, data] of full.params) expect(light.params.get(name)).toEqual(data);
    expect(light.vocab.chars).toEqual(full.vocab.chars);
  });

  it('a weight that is NaN or infinite is refused with a one-line CheckpointError', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const { metadata, tensors } = decodeSafetensors(encodeTrainerCheckpoint(trained(1)), 'x');
      (tensors.get('head.bias')!.data as Float32Array)[2] = bad;
      const bytes = encodeSafetensors([...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data as Float32Array })), metadata, { checksum: true });
      for (const weightsOnly of [false, true]) {
        expect(() => decodeCheckpoint(bytes, 'bad.safetensors', { weightsOnly })).toThrow(CheckpointError);
        expect(() => decodeCheckpoint(bytes, 'bad.safetensors', { weightsOnly })).toThrow(/NaN or infinite/);
      }
    }
  });
});
