// Fuzzing the reader: thousands of mutations of a valid file. Each must either decode to
// something self-consistent or throw CheckpointError; any other exception, or a hang
// (the test's time limit), is a bug.

import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type TensorOut } from '../../src/checkpoint/safetensors.js';
import { CheckpointError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const FILE = 'fuzz.safetensors';
const MUTATIONS = 4000;

function baseFile(): Uint8Array {
  return encodeSafetensors(
    [
      { name: 'embed.weight', shape: [5, 3], data: Float32Array.from({ length: 15 }, (_, i) => i - 7.5) },
      { name: 'rnn.weight_ih_l0', shape: [8, 3], data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)) },
      { name: 'rnn.bias_ih_l0', shape: [8], data: new Float32Array(8).fill(0.25) },
      { name: 'optim.step', shape: [], data: new Int32Array([1234]) },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      { name: 'cursor', shape: [2], data: new Int32Array([7, -9]) },
    ],
    { format: 'rnn-1', config: '{"cell":"lstm","hidden":8}', vocab: '["a","b","😀"]' },
  );
}

type Mutator = (bytes: Uint8Array, rng: Rng) => Uint8Array;

function headerOf(bytes: Uint8Array): { json: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  return { json, data: bytes.subarray(8 + n) };
}

function withHeader(text: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const pick = <T,>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)]!;

const WEIRD_NUMBERS: unknown[] = [-1, -4, 0.5, 3.999, 1e300, -0, 2 ** 53, 2 ** 53 + 2, 2 ** 31, 2 ** 32, '4', null, true, [], {}, 1e-7];
const WEIRD_DTYPES: unknown[] = ['F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'U32', 'f32', 'F32 ', '', 'XYZ', 5, null, ['F32']];

/** Semantic edits of the JSON header, re-encoded with a correct length. */
const jsonEdits: Array<(json: Record<string, unknown>, rng: Rng) => unknown> = [
  (json, rng) => {
    // swap the offsets of two tensors
    const names = Object.keys(json).filter((k) => k !== '__metadata__');
    const p = json[pick(rng, names)] as { data_offsets: unknown };
    const q = json[pick(rng, names)] as { data_offsets: unknown };
    [p.data_offsets, q.data_offsets] = [q.data_offsets, p.data_offsets];
    return json;
  },
  (json, rng) => {
    const entry = json[pick(rng, Object.keys(json).filter((k) => k !== '__metadata__'))] as { data_offsets: unknown[] };
    entry.data_offsets[rng.int(2)] = pick(rng, WEIRD_NUMBERS);
    return json;
  },
  (json, rng) => {
    const entry = json[pick(rng, Object.keys(json).filter((k) => k !== '__metadata__'))] as { data_offsets: number[] };
    const k = rng.int(2);
    entry.data_offsets[k] = entry.data_offsets[k]! + pick(rng, [-8, -4, -1, 1, 4, 8, 1 << 20]);
    return json;
  },
  (json, rng) => {
    const entry = json[pick(rng, Object.keys(json).filter((k) => k !== '__metadata__'))] as { dtype: unknown };
    entry.dtype = pick(rng, WEIRD_DTYPES);
    return json;
  },
  (json, rng) => {
    const entry = json[pick(rng, Object.keys(json).filter((k) => k !== '__metadata__'))] as { shape: unknown[] };
    const edit = rng.int(5);
    if (edit === 0) entry.shape.push(pick(rng, [1, 2, 0, 1e20]));
    else if (edit === 1) entry.shape.pop();
    else if (edit === 2 && entry.shape.length > 0) entry.shape[rng.int(entry.shape.length)] = pick(rng, WEIRD_NUMBERS);
    else if (edit === 3) entry.shape.reverse();
    else (entry as Record<string, unknown>)['shape'] = pick(rng, [null, 3, '3', {}, [[3]]]);
    return json;
  },
  (json, rng) => {
    const name = pick(rng, Object.keys(json));
    if (rng.int(2) === 0) delete json[name];
    else json[name] = pick(rng, [null, 1, 'x', [], [1, 2], { dtype: 'F32' }]);
    return json;
  },
  (json, rng) => {
    const meta = json['__metadata__'] as Record<string, unknown>;
    meta[pick(rng, ['format', 'config', 'new'])] = pick(rng, [1, null, {}, ['a'], 'fine', true]);
    return json;
  },
  (json, rng) => {
    // a second tensor aliasing an existing range
    const name = pick(rng, Object.keys(json).filter((k) => k !== '__metadata__'));
    json[`${name}.alias`] = JSON.parse(JSON.stringify(json[name]));
    return json;
  },
  (_json, rng) => pick(rng, [[], 'text', 42, null, [{}]]),
];

const mutators: Mutator[] = [
  // flip 1–4 random bits anywhere
  (bytes, rng) => {
    const out = bytes.slice();
    for (let k = 1 + rng.int(4); k > 0; k--) {
      const i = rng.int(out.length);
      out[i] = out[i]! ^ (1 << rng.int(8));
    }
    return out;
  },
  // flip bits in the header only (more interesting than data flips)
  (bytes, rng) => {
    const out = bytes.slice();
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const i = 8 + rng.int(n);
    out[i] = out[i]! ^ (1 << rng.int(8));
    return out;
  },
  // overwrite a header byte with a random printable or structural character
  (bytes, rng) => {
    const out = bytes.slice();
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    out[8 + rng.int(n)] = pick(rng, [...'{}[]":,-.0123456789eE ntf'].map((c) => c.charCodeAt(0)));
    return out;
  },
  // truncate
  (bytes, rng) => bytes.slice(0, rng.int(bytes.length)),
  // append garbage
  (bytes, rng) => {
    const extra = Uint8Array.from({ length: 1 + rng.int(16) }, () => rng.int(256));
    const out = new Uint8Array(bytes.length + extra.length);
    out.set(bytes);
    out.set(extra, bytes.length);
    return out;
  },
  // edit the header length: small deltas, huge values, random 64-bit values
  (bytes, rng) => {
    const out = bytes.slice();
    const view = new DataView(out.buffer);
    const n = view.getBigUint64(0, true);
    const choice = rng.int(4);
    let value: bigint;
    if (choice === 0) value = n + BigInt(pick(rng, [-9, -8, -1, 1, 7, 8, 64]));
    else if (choice === 1) value = pick(rng, [0n, 1n, 2n, 2n ** 32n, 2n ** 32n + n, 2n ** 63n, 2n ** 64n - 1n, 100n * 2n ** 20n, BigInt(bytes.length)]);
    else if (choice === 2) value = BigInt(rng.nextU32()) * 2n ** 32n + BigInt(rng.nextU32());
    else value = BigInt(rng.int(bytes.length + 16));
    view.setBigUint64(0, BigInt.asUintN(64, value), true);
    return out;
  },
  // JSON edits, re-encoded with a consistent length (sometimes with odd padding)
  (bytes, rng) => {
    const { json, data } = headerOf(bytes);
    const edited = pick(rng, jsonEdits)(json, rng);
    const text = JSON.stringify(edited) + ' '.repeat(rng.int(9));
    return withHeader(text, data);
  },
  // JSON edits plus a raw-data truncation or extension
  (bytes, rng) => {
    const { json, data } = headerOf(bytes);
    const edited = pick(rng, jsonEdits)(json, rng);
    const cut = data.subarray(0, Math.max(0, data.length - 4 * rng.int(4)));
    return withHeader(JSON.stringify(edited), cut);
  },
];

/** What a successful decode must satisfy. */
function checkConsistent(metadata: Record<string, string>, tensors: Map<string, TensorOut>, fileLength: number): void {
  let bytes = 0;
  for (const [name, t] of tensors) {
    expect(['F32', 'I32']).toContain(t.dtype);
    expect(t.data).toBeInstanceOf(t.dtype === 'F32' ? Float32Array : Int32Array);
    expect(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)).toBe(true);
    expect(t.data.length).toBe(t.shape.reduce((p, d) => p * d, 1));
    expect(t.data.byteOffset % 4).toBe(0);
    expect(name).not.toBe('__metadata__');
    bytes += t.data.byteLength;
  }
  expect(bytes).toBeLessThanOrEqual(fileLength);
  for (const value of Object.values(metadata)) expect(typeof value).toBe('string');
  // Re-encoding what was read gives a file that reads back the same.
  const again = decodeSafetensors(
    encodeSafetensors([...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })), metadata),
    FILE,
  );
  expect(again.metadata).toEqual(metadata);
  expect(again.tensors).toEqual(tensors);
}

describe('decodeSafetensors under fuzzing', () => {
  it(`survives ${MUTATIONS} mutations: decodes consistently or throws CheckpointError`, () => {
    const base = baseFile();
    expect(decodeSafetensors(base, FILE).tensors.size).toBe(6);
    const rng = new Rng(20240601);
    const outcomes = { decoded: 0, rejected: 0 };
    const wrong: string[] = [];
    for (let i = 0; i < MUTATIONS; i++) {
      const m = rng.int(mutators.length);
      const mutated = mutators[m]!(base, rng);
      let result: ReturnType<typeof decodeSafetensors> | undefined;
      try {
        result = decodeSafetensors(mutated, FILE);
      } catch (err) {
        if (err instanceof CheckpointError && !err.message.includes('\n') && err.message.startsWith(`${FILE}: `)) {
          outcomes.rejected++;
        } else if (wrong.length < 5) {
          wrong.push(`mutation ${i} (mutator ${m}): ${String(err)}`);
        }
        continue;
      }
      outcomes.decoded++;
      checkConsistent(result.metadata, result.tensors, mutated.length);
    }
    expect(wrong).toEqual([]);
    // Both outcomes happen, so the mutations are neither all fatal nor all harmless.
    expect(outcomes.decoded).toBeGreaterThan(100);
    expect(outcomes.rejected).toBeGreaterThan(1000);
  });
});
