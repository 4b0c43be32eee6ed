import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, MAX_HEADER_BYTES } from '../../src/checkpoint/safetensors.js';
import { CheckpointError } from '../../src/util/errors.js';

const FILE = 'model.safetensors';

/** A file assembled by hand from the specification: length, header text, data bytes. */
function handMade(header: string, data: number[] = [], lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function problem(bytes: Uint8Array): string {
  try {
    decodeSafetensors(bytes, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as CheckpointError).file).toBe(FILE);
    const message = (err as Error).message;
    expect(message.startsWith(`${FILE}: `)).toBe(true);
    expect(message).not.toContain('\n');
    return message.slice(FILE.length + 2);
  }
  throw new Error('expected a CheckpointError');
}

describe('encodeSafetensors', () => {
  it('writes the layout of the specification', () => {
    const bytes = encodeSafetensors(
      [
        { name: 'w', shape: [2], data: new Float32Array([1, -2]) },
        { name: 'n', shape: [], data: new Int32Array([7]) },
      ],
      { format: 'pt' },
    );
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(view.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(header.startsWith('{')).toBe(true);
    expect(header.trimEnd().length).toBeLessThanOrEqual(n);
    expect(/^ *$/.test(header.slice(header.trimEnd().length))).toBe(true);
    expect(JSON.parse(header)).toEqual({
      __metadata__: { format: 'pt' },
      w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      n: { dtype: 'I32', shape: [], data_offsets: [8, 12] },
    });
    expect([...bytes.subarray(8 + n)]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 7, 0, 0, 0]);
  });

  it('omits __metadata__ when there is none, and writes an empty file list', () => {
    const bytes = encodeSafetensors([], {});
    expect(new TextDecoder().decode(bytes.subarray(8)).trim()).toBe('{}');
    expect(decodeSafetensors(bytes, FILE)).toEqual({ metadata: {}, tensors: new Map() });
  });

  it('rejects caller mistakes', () => {
    const t = { name: 'a', shape: [2], data: new Float32Array(2) };
    expect(() => encodeSafetensors([t, t], {})).toThrow(/used twice/);
    expect(() => encodeSafetensors([{ ...t, shape: [3] }], {})).toThrow(/holds 3 values but the data has 2/);
    expect(() => encodeSafetensors([{ ...t, name: '__metadata__' }], {})).toThrow(/reserved/);
    expect(() => encodeSafetensors([{ ...t, shape: [-2, -1] }], {})).toThrow(/whole numbers/);
    expect(() => encodeSafetensors([], { a: 1 as unknown as string })).toThrow(/must be a string/);
  });
});

describe('decodeSafetensors', () => {
  it('round-trips values bit for bit, including NaN, -0, infinities and subnormals', () => {
    const special = new Float32Array([Number.NaN, -0, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, Math.PI]);
    const nanBits = new Float32Array(1);
    new Uint32Array(nanBits.buffer)[0] = 0x7fc12345; // a NaN with a payload
    const ints = new Int32Array([0, -1, 2147483647, -2147483648]);
    const embed = Float32Array.from({ length: 12 }, (_, i) => i / 3);
    const bytes = encodeSafetensors(
      [
        { name: 'embed.weight', shape: [3, 4], data: embed },
        { name: 'special', shape: [7], data: special },
        { name: 'nan', shape: [1, 1], data: nanBits },
        { name: 'ints', shape: [2, 2], data: ints },
        { name: 'empty', shape: [0, 5], data: new Float32Array(0) },
        { name: 'scalar', shape: [], data: new Int32Array([42]) },
      ],
      { config: '{"cell":"lstm"}', vocab: '["a","😀"]', 'ключ': 'значение' },
    );
    const { metadata, tensors } = decodeSafetensors(bytes, FILE);
    expect(metadata).toEqual({ config: '{"cell":"lstm"}', vocab: '["a","😀"]', 'ключ': 'значение' });
    expect([...tensors.keys()]).toEqual(['embed.weight', 'special', 'nan', 'ints', 'empty', 'scalar']);
    const get = (name: string) => tensors.get(name)!;
    expect(get('embed.weight')).toEqual({ dtype: 'F32', shape: [3, 4], data: embed });
    expect(new Uint32Array(get('special').data.buffer)).toEqual(new Uint32Array(special.buffer));
    expect(new Uint32Array(get('nan').data.buffer)[0]).toBe(0x7fc12345);
    expect(get('ints')).toEqual({ dtype: 'I32', shape: [2, 2], data: ints });
    expect(get('empty').data).toEqual(new Float32Array(0));
    expect(get('empty').shape).toEqual([0, 5]);
    expect(get('scalar')).toEqual({ dtype: 'I32', shape: [], data: new Int32Array([42]) });
  });

  it('reads a hand-made file, from a view at an odd offset, into independent arrays', () => {
    const header = '{"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const file = handMade(header, [0, 0, 0x80, 0x3f, 5, 0, 0, 0]);
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const view = shifted.subarray(1);
    const { tensors } = decodeSafetensors(view, FILE);
    expect([...tensors.keys()]).toEqual(['a', 'b']); // in offset order
    expect(tensors.get('a')!.data).toEqual(new Float32Array([1]));
    expect(tensors.get('b')!.data).toEqual(new Int32Array([5]));
    shifted.fill(0);
    expect(tensors.get('a')!.data[0]).toBe(1);
  });

  it('accepts a header padded with spaces and zero-size tensors sharing an offset', () => {
    const header = '{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"f":{"dtype":"F32","shape":[2,0],"data_offsets":[0,0]}}   ';
    const { tensors } = decodeSafetensors(handMade(header), FILE);
    expect(tensors.size).toBe(2);
  });

  it('ignores unknown keys in an entry', () => {
    const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"note":"x"}}';
    expect(decodeSafetensors(handMade(header, [0, 0, 0, 0]), FILE).tensors.get('a')!.shape).toEqual([1]);
  });

  const a = (extra = '', dtype = '"F32"', shape = '[1]', offsets = '[0,4]') =>
    `{"a":{"dtype":${dtype},"shape":${shape},"data_offsets":${offsets}}${extra}}`;

  it('names each problem in one line', () => {
    const four = [0, 0, 0, 0];
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(5), /^only 5 bytes, too short/],
      [handMade('{}', [], 2n ** 40n), /header length 1099511627776 exceeds the 100 MB limit/],
      [handMade('{}', [], 2n ** 64n - 1n), /header length 18446744073709551615 exceeds/],
      [handMade('{}', [], BigInt(MAX_HEADER_BYTES + 1)), /exceeds the 100 MB limit/],
      [handMade('{}', [], 3n), /beyond the end of the file/],
      [handMade('{', [], 1n), /too small/],
      [handMade('[1,2]'), /does not start with '\{'/],
      [handMade('{"a\uFFFF":1}').map((b, i, all) => (i === all.length - 3 ? 0xff : b)), /not valid UTF-8/],
      [handMade('{"a":}'), /not valid JSON/],
      [handMade('{"__metadata__":{"k":1}}'), /__metadata__ entry "k" is not a string/],
      [handMade('{"__metadata__":["x"]}'), /__metadata__ is not a JSON object/],
      [handMade('{"a":[1]}'), /tensor "a" is not a JSON object/],
      [handMade(a('', '"F16"', '[2]'), four), /dtype F16, which rnn does not read \(only F32 and I32\); convert/],
      [handMade(a('', '"Q4"'), four), /unknown dtype "Q4"/],
      [handMade(a('', '7'), four), /no dtype string/],
      [handMade(a('', '"F32"', '[2]'), four), /shape \[2\] of F32 but 4 bytes/],
      [handMade(a('', '"F32"', '[-1]'), four), /shape entry -1/],
      [handMade(a('', '"F32"', '[1.5]'), four), /shape entry 1.5/],
      [handMade(a('', '"F32"', '["1"]'), four), /shape entry "1"/],
      [handMade(a('', '"F32"', '[[1]]'), four), /shape entry an array/],
      [handMade(a('', '"F32"', '1'), four), /no shape array/],
      [handMade(a('', '"F32"', '[1e30,1e30]'), four), /shape entry 1e\+30/],
      [handMade(a('', '"F32"', '[1]', '[0,4,8]'), four), /no data_offsets pair/],
      [handMade(a('', '"F32"', '[1]', '[-4,0]'), four), /data offset -4/],
      [handMade(a('', '"F32"', '[1]', '[0.5,4.5]'), four), /data offset 0.5/],
      [handMade(a('', '"F32"', '[1]', '[4,0]'), four), /end before they begin/],
      [handMade(a('', '"F32"', '[1]', '[4,8]'), four), /past the end of the data/],
      [handMade(a('', '"F32"', '[1]', '[0,4]'), [...four, ...four]), /4 bytes after the last tensor/],
      [handMade(a('', '"F32"', '[1]', '[4,8]'), [...four, ...four]), /unused bytes 0\.\.4 before tensor "a"/],
      [handMade(a(',"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}'), [...four, ...four]), /overlaps/],
      [handMade(`{"${'x'.repeat(500)}":1}`), /tensor "x{57}\.\.\." is not/],
    ];
    for (const [bytes, pattern] of cases) expect(problem(bytes)).toMatch(pattern);
  });

  it('a duplicated JSON key cannot alias data: the dropped entry leaves a hole', () => {
    const header = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expect(problem(handMade(header, [0, 0, 0, 0, 0, 0, 0, 0]))).toMatch(/unused bytes 0\.\.4/);
  });
});

describe('decoding a Node Buffer', () => {
  it('copies each tensor out of a pooled Buffer', async () => {
    const { encodeSafetensors, decodeSafetensors } = await import('../../src/checkpoint/safetensors.js');
    const bytes = encodeSafetensors([{ name: 'a', shape: [3], data: new Float32Array([1, 2, 3]) }], {});
    // Buffer.from(array) may come from the shared pool: a view at a non-zero offset
    const pooled = Buffer.concat([Buffer.alloc(5), Buffer.from(bytes)]).subarray(5);
    const t = decodeSafetensors(pooled, 'x').tensors.get('a')!;
    expect(Array.from(t.data)).toEqual([1, 2, 3]);
  });
});
