// The two ways a checkpoint file is read: whole (resume, info, export: everything checked
// against data_crc32) and weights-only (sample, eval, score …: when the file records the
// CRC-32 of its weights, data_crc32_head, only the header and the weights are read and
// those bytes are checked). Damage anywhere in what a reader uses is refused on both
// paths; older files (no head checksum, or no checksum at all) are read whole. readModel
// (the commands that sample and score a language model) reads the weights straight into a
// model's parameters: the same refusals with the same messages, the same weights.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../src/checkpoint/crc32.js';
import { CHECKSUM_KEY, decodeSafetensors, encodeSafetensors, HEAD_CHECKSUM_KEY, parseHeader } from '../../src/checkpoint/safetensors.js';
import { decodeCheckpoint, modelFromCheckpoint, readCheckpoint, readModel } from '../../src/checkpoint/store.js';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Kernels } from '../../src/kernels/types.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { CheckpointError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/cli.js';
import { checkpointBytes, config, lmTrainer } from '../train/config.js';

const V1 = fileURLToPath(new URL('../fixtures/checkpoints/v1-lstm-train.safetensors', import.meta.url));
const tmp = tempDir('rnn-weights-read-');
afterAll(() => tmp.cleanup());

let bytes: Uint8Array;
let weightsEnd = 0; // offset in the data section where the weights end
let dataStart = 0;
beforeAll(() => {
  const t = lmTrainer(new ReferenceKernels(), 'the cat sat on the mat. '.repeat(20), config({ hidden: 8, embed: 4, layers: 2, batch: 2, seq: 8 }));
  t.step();
  bytes = checkpointBytes(t);
  const header = parseHeader(bytes, bytes.length, 'x');
  dataStart = header.dataStart;
  for (const info of header.tensors) if (!info.name.startsWith('optim.') && !info.name.startsWith('state.')) weightsEnd = Math.max(weightsEnd, info.end);
});

const write = (name: string, data: Uint8Array): string => {
  const file = join(tmp.dir, name);
  writeFileSync(file, data);
  return file;
};
/** One wasm backend for every readModel (each would otherwise take a WebAssembly memory of its own). */
let wasm: Kernels | null = null;
const wasmKernels = (): Kernels => (wasm ??= createWasmKernels({ threads: 1 }));
/** The message a read refuses the file with (null: read): whole, weights-only, or readModel into wasm kernels. */
const refused = async (file: string, weightsOnly: boolean | 'model'): Promise<string | null> => {
  try {
    if (weightsOnly === 'model') await readModel(file, wasmKernels);
    else await readCheckpoint(file, { weightsOnly });
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as Error).message;
  }
};

describe('the checksum of the weights', () => {
  it('covers exactly the weights, which come first; the whole-data checksum is unchanged', () => {
    const { metadata } = decodeSafetensors(bytes, 'x');
    const [covered, crc] = metadata[HEAD_CHECKSUM_KEY]!.split(':');
    expect(Number(covered)).toBe(weightsEnd);
    expect(weightsEnd).toBeLessThan(bytes.length - dataStart); // moments and state follow
    expect(crc).toBe(crc32(bytes.subarray(dataStart, dataStart + weightsEnd)).toString(16).padStart(8, '0'));
    expect(metadata[CHECKSUM_KEY]).toBe(crc32(bytes.subarray(dataStart)).toString(16).padStart(8, '0'));
  });

  it('both reads give the same weights; only the whole read has the run state', async () => {
    const file = write('ok.safetensors', bytes);
    const whole = await readCheckpoint(file);
    const weights = await readCheckpoint(file, { weightsOnly: true });
    expect([...weights.params.keys()]).toEqual([...whole.params.keys()]);
    for (const [name, p] of whole.params) expect(weights.params.get(name)).toEqual(p);
    expect(whole.state).not.toBeNull();
    expect(weights.state).toBeNull();
    expect(weights.progress).toEqual(whole.progress);
    // readModel: the same weights, in the model's parameters, on either kernels
    for (const k of [new ReferenceKernels('f32'), wasmKernels()]) {
      const { ckpt, model } = await readModel(file, () => k);
      expect(model.params).toEqual(modelFromCheckpoint(k, whole).params);
      expect(ckpt.params.get('rnn.weight_hh_l1')).toEqual(whole.params.get('rnn.weight_hh_l1'));
      expect(ckpt.state).toBeNull();
      expect(ckpt.progress).toEqual(whole.progress);
    }
  });

  it('a flipped bit anywhere in the weights is refused by both reads; in the moments or state only by the whole read', async () => {
    const dataLength = bytes.length - dataStart;
    // about 150 positions across the data section, every tensor boundary's neighbours included
    const positions = new Set<number>();
    for (let at = 0; at < dataLength; at += Math.max(1, Math.floor(dataLength / 150))) positions.add(at);
    for (const at of [0, weightsEnd - 1, weightsEnd, dataLength - 1]) positions.add(at);
    for (const at of positions) {
      const damaged = bytes.slice();
      damaged[dataStart + at]! ^= 1 << (at % 8);
      const file = write('flipped.safetensors', damaged);
      expect(await refused(file, false), `byte ${at}, whole read`).toMatch(/does not match the checksum/);
      const weightsOnly = await refused(file, true);
      if (at < weightsEnd) expect(weightsOnly, `byte ${at} (weights), weights-only read`).toMatch(/does not match the checksum/);
      else expect(weightsOnly, `byte ${at} (not weights), weights-only read`).toBeNull();
      expect(await refused(file, 'model'), `byte ${at}, readModel`).toBe(weightsOnly);
    }
  });

  it('a truncated file is refused by both reads, wherever it is cut', async () => {
    for (const length of [0, 5, 8, 100, dataStart, dataStart + 3, dataStart + weightsEnd, bytes.length - 1]) {
      const file = write('short.safetensors', bytes.subarray(0, length));
      expect(await refused(file, false), `cut at ${length}`).not.toBeNull();
      expect(await refused(file, true), `cut at ${length}`).not.toBeNull();
      expect(await refused(file, 'model'), `cut at ${length}`).toBe(await refused(file, true));
    }
  });

  it('a damaged head checksum entry is refused by both reads', async () => {
    const { metadata, tensors } = decodeSafetensors(bytes, 'x');
    const list = [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
    for (const bad of ['12', `${weightsEnd}:xyz`, `${bytes.length}:00000000`, `-1:00000000`]) {
      const file = write('entry.safetensors', encodeSafetensors(list, { ...metadata, [HEAD_CHECKSUM_KEY]: bad }));
      expect(await refused(file, false)).toMatch(/data_crc32_head is .* the file is damaged/);
      expect(await refused(file, true)).toMatch(/data_crc32_head is .* the file is damaged/);
      expect(await refused(file, 'model')).toBe(await refused(file, true));
    }
  });
});

describe('older files are read whole', () => {
  it('a file with only the whole-data checksum (before the head checksum): a flip in the moments is refused by a weights-only read too', async () => {
    const { metadata, tensors } = decodeSafetensors(bytes, 'x');
    delete metadata[HEAD_CHECKSUM_KEY];
    const list = [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
    const old = encodeSafetensors(list, metadata, { checksum: true });
    expect(decodeSafetensors(old, 'x').metadata[HEAD_CHECKSUM_KEY]).toBeUndefined();
    const file = write('old-crc.safetensors', old);
    expect((await readCheckpoint(file, { weightsOnly: true })).params.size).toBeGreaterThan(0);
    const damaged = old.slice();
    damaged[old.length - 5]! ^= 0x10; // the run state, past the weights
    const bad = write('old-crc-flipped.safetensors', damaged);
    expect(await refused(bad, true)).toMatch(/does not match the checksum/);
    expect(await refused(bad, false)).toMatch(/does not match the checksum/);
    expect(await refused(bad, 'model')).toMatch(/does not match the checksum/);
  });

  it('the version 1 fixture (no checksum at all) loads both ways, with the same weights', async () => {
    const whole = await readCheckpoint(V1);
    const weights = await readCheckpoint(V1, { weightsOnly: true });
    for (const [name, p] of whole.params) expect(weights.params.get(name)).toEqual(p);
    expect((await readModel(V1, () => new ReferenceKernels('f32'))).model.params).toEqual(modelFromCheckpoint(new ReferenceKernels('f32'), whole).params);
    expect(decodeSafetensors(new Uint8Array(readFileSync(V1)), 'v1').metadata[CHECKSUM_KEY]).toBeUndefined();
  });
});

describe('the weight check (on the bits of each float)', () => {
  const withWeight = (value: number): Uint8Array => {
    const { metadata, tensors } = decodeSafetensors(bytes, 'x');
    delete metadata[CHECKSUM_KEY];
    delete metadata[HEAD_CHECKSUM_KEY];
    const w = tensors.get('rnn.weight_hh_l1')!.data as Float32Array;
    w[w.length >> 1] = value;
    return encodeSafetensors([...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), metadata);
  };
  it('refuses NaN, ±∞ and magnitudes past 1e8 wherever they are, and names the largest', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      expect(() => decodeCheckpoint(withWeight(bad), 'w'), String(bad)).toThrow(/w: holds weights that are NaN or infinite/);
    }
    expect(() => decodeCheckpoint(withWeight(-3e38), 'w')).toThrow(/tensor rnn\.weight_hh_l1 holds a weight of 3\.0e\+38/);
    expect(() => decodeCheckpoint(withWeight(2.5e8), 'w')).toThrow(/holds a weight of 2\.5e\+8/);
    expect(decodeCheckpoint(withWeight(-9e7), 'w').params.get('rnn.weight_hh_l1')).toContain(-9e7);
    expect(decodeCheckpoint(withWeight(-0), 'w').params.size).toBeGreaterThan(0);
  });

  it('readModel refuses them too, with the weights checksummed as rnn writes them (read straight into the model)', async () => {
    const weightCount = decodeSafetensors(bytes, 'x').tensors.size - [...decodeSafetensors(bytes, 'x').tensors.keys()].filter((n) => n.startsWith('optim.') || n.startsWith('state.')).length;
    const checksummed = (value: number): string => {
      const { metadata, tensors } = decodeSafetensors(withWeight(value), 'x');
      const file = write('value.safetensors', encodeSafetensors([...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), metadata, { checksum: true, headTensors: weightCount }));
      return file;
    };
    for (const bad of [Number.NaN, Infinity, -Infinity]) expect(await refused(checksummed(bad), 'model'), String(bad)).toMatch(/holds weights that are NaN or infinite/);
    expect(await refused(checksummed(-3e38), 'model')).toMatch(/tensor rnn\.weight_hh_l1 holds a weight of 3\.0e\+38/);
    expect(await refused(checksummed(2.5e8), 'model')).toMatch(/holds a weight of 2\.5e\+8/);
    const { ckpt, model } = await readModel(checksummed(-9e7), wasmKernels);
    expect(ckpt.params.get('rnn.weight_hh_l1')).toContain(-9e7);
    expect(model.layout.view(model.params, 'rnn.weight_hh_l1')).toContain(-9e7);
  });
});
