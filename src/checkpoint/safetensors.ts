// The safetensors container, written from its specification:
//
//   bytes 0..8         N, the header length: unsigned 64-bit little-endian
//   bytes 8..8+N       the header: a UTF-8 JSON object, starting with '{', which may be
//                      padded at the end with spaces (0x20)
//                        { "<tensor name>": { "dtype": "F32", "shape": [2, 3],
//                                             "data_offsets": [begin, end] }, ...,
//                          "__metadata__": { "<key>": "<string value>", ... } }
//   bytes 8+N..        the data section: raw little-endian, C-order tensor bytes;
//                      data_offsets are relative to its first byte, end is exclusive
//
// The tensors' byte ranges tile the data section exactly: sorted by begin, each begins
// where the previous one ended, the first at 0 and the last ends at the end of the file.
// (This also defeats duplicate JSON keys: a dropped duplicate leaves a hole.) A tensor
// with a zero in its shape has an empty range; shape [] is a scalar with one element.
//
// Integrity: a writer asked for it records the CRC-32 of the whole data section in the
// metadata entry "data_crc32" (8 lowercase hex digits); the reader checks it when it is
// there, so a flipped bit in the weights is found before they are used. A writer may also
// record the CRC-32 of the data section's first bytes, "data_crc32_head" = "<bytes>:<crc>"
// (rnn writes the weights first and covers them: a reader that needs only the weights reads
// and checks only those bytes). Files without the entries (older checkpoints, other
// writers) load as before.
//
// This module reads and writes F32 and I32 tensors only, which is all a checkpoint holds.
// The reader trusts nothing: every failure is a CheckpointError(file, one-line problem),
// and nothing is allocated on the word of a length field before it has been checked
// against the size of the file.

import { CheckpointError } from '../util/errors.js';
import { crc32 } from './crc32.js';

export type Dtype = 'F32' | 'I32';

export interface TensorIn {
  name: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface TensorOut {
  dtype: Dtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Largest header accepted (the reference implementation uses the same bound). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const METADATA_KEY = '__metadata__';
/** Metadata entry holding the CRC-32 of the data section. */
export const CHECKSUM_KEY = 'data_crc32';
/** Metadata entry holding the CRC-32 of the data section's first bytes: "<bytes>:<crc>". */
export const HEAD_CHECKSUM_KEY = 'data_crc32_head';
const CHECKSUM_PLACEHOLDER = '00000000';

/** Dtypes the format defines; those other than F32 and I32 get a "not supported" message. */
const KNOWN_DTYPES = new Set([
  'BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
]);

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Serialises tensors (in the given order, contiguous) and string metadata. The header is
 * padded with spaces so the data section starts at a multiple of 8 bytes.
 *
 * With `checksum`, the metadata also records the CRC-32 of the data section (CHECKSUM_KEY),
 * and with `headTensors` (k > 0) the CRC-32 of the bytes of the first k tensors (HEAD_CHECKSUM_KEY).
 *
 * @throws RangeError for a caller's mistake: a repeated or reserved name, a shape that
 *   does not match the data length, a non-string metadata value.
 */
export function encodeSafetensors(tensors: TensorIn[], metadata: Record<string, string>, opts: { checksum?: boolean; headTensors?: number } = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  const withHead = opts.checksum === true && (opts.headTensors ?? 0) > 0;
  // the checksums first, with placeholders of their final width, filled in once the data is laid out
  const meta: Record<string, string> = opts.checksum ? { [CHECKSUM_KEY]: CHECKSUM_PLACEHOLDER } : {};
  if (withHead) meta[HEAD_CHECKSUM_KEY] = '';
  for (const [key, value] of Object.entries(metadata)) {
    if (opts.checksum && (key === CHECKSUM_KEY || key === HEAD_CHECKSUM_KEY)) continue;
    if (typeof value !== 'string') throw new RangeError(`metadata ${JSON.stringify(key)} must be a string (got ${typeof value})`);
    meta[key] = value;
  }
  if (Object.keys(meta).length > 0) header[METADATA_KEY] = meta;

  let offset = 0;
  let headBytes = 0;
  for (const [i, { name, shape, data }] of tensors.entries()) {
    if (name === METADATA_KEY) throw new RangeError(`tensor name ${METADATA_KEY} is reserved`);
    if (Object.prototype.hasOwnProperty.call(header, name)) throw new RangeError(`tensor name ${JSON.stringify(name)} is used twice`);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new RangeError(`tensor ${JSON.stringify(name)}: shape [${shape.join(', ')}] must hold whole numbers ≥ 0`);
    }
    const count = shape.reduce((p, d) => p * d, 1);
    if (count !== data.length) {
      throw new RangeError(`tensor ${JSON.stringify(name)}: shape [${shape.join(', ')}] holds ${count} values but the data has ${data.length}`);
    }
    const dtype: Dtype = data instanceof Float32Array ? 'F32' : 'I32';
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
    if (withHead && i < opts.headTensors!) headBytes = offset;
  }
  if (withHead) meta[HEAD_CHECKSUM_KEY] = `${headBytes}:${CHECKSUM_PLACEHOLDER}`;

  const headerText = JSON.stringify(header);
  const json = new TextEncoder().encode(headerText);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true); // headers never approach 4 GB
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);

  let at = 8 + headerLength;
  for (const { data } of tensors) {
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    } else if (data instanceof Float32Array) {
      for (let i = 0; i < data.length; i++) view.setFloat32(at + 4 * i, data[i]!, true);
    } else {
      for (let i = 0; i < data.length; i++) view.setInt32(at + 4 * i, data[i]!, true);
    }
    at += data.byteLength;
  }
  if (opts.checksum) {
    // a placeholder's byte offset in the header (each key occurs once: JSON escapes quotes in values)
    const fill = (prefix: string, crc: number) => {
      const at = new TextEncoder().encode(headerText.slice(0, headerText.indexOf(prefix) + prefix.length)).length;
      out.set(new TextEncoder().encode(crc.toString(16).padStart(8, '0')), 8 + at);
    };
    const data = out.subarray(8 + headerLength);
    const headCrc = crc32(data.subarray(0, headBytes));
    if (withHead) fill(`"${HEAD_CHECKSUM_KEY}":"${headBytes}:`, headCrc);
    fill(`"${CHECKSUM_KEY}":"`, crc32(data.subarray(headBytes), headCrc));
  }
  return out;
}

/** A tensor's entry in a validated header; begin and end are offsets in the data section. */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header: what the file holds and where. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In the order of their data offsets (they tile the data section). */
  tensors: TensorInfo[];
  /** The data section's first byte in the file (8 + the header length). */
  dataStart: number;
  /** The data section's length in bytes. */
  dataLength: number;
  /** The bytes at the start of the data section that the head checksum covers (0: no head checksum). */
  headBytes: number;
}

/**
 * Parses and validates a safetensors file held in memory. The returned arrays are fresh
 * copies (aligned, host byte order), independent of `bytes`. Tensors come in the order
 * of their data offsets.
 *
 * @param file the file's name, for error messages
 * @throws CheckpointError(file, problem) for anything that is not a well-formed file of
 *   F32 and I32 tensors.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  file: string,
  /** Tensors to copy out (all by default); the others are validated but left out of the result. */
  keep?: (name: string) => boolean,
): { metadata: Record<string, string>; tensors: Map<string, TensorOut> } {
  const header = parseHeader(bytes, bytes.length, file);
  const data = bytes.subarray(header.dataStart);
  verifyChecksums(header, data, file, true);
  return { metadata: header.metadata, tensors: tensorData(header, data, keep) };
}

/**
 * The header length recorded in a file's first 8 bytes, checked against the file's size.
 * @throws CheckpointError
 */
export function headerLength(first: Uint8Array, fileSize: number, file: string): number {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  if (fileSize < 8 || first.length < 8) fail(`only ${fileSize} bytes, too short to be a safetensors file; ${NOT_CHECKPOINT}`);
  const view = new DataView(first.buffer, first.byteOffset, 8);
  const lengthLow = view.getUint32(0, true);
  const lengthHigh = view.getUint32(4, true);
  const available = fileSize - 8;
  if (lengthHigh !== 0 || lengthLow > MAX_HEADER_BYTES) {
    fail(`header length ${describeU64(lengthLow, lengthHigh)} exceeds the ${MAX_HEADER_BYTES / 1048576} MB limit; the file is damaged or not a safetensors file`);
  }
  if (lengthLow > available) {
    fail(`header length ${lengthLow} is beyond the end of the file (${available} bytes after the length); the file is truncated or damaged`);
  }
  if (lengthLow < 2) fail(`header length ${lengthLow} is too small for a JSON object; the file is damaged`);
  return lengthLow;
}

const NOT_CHECKPOINT = 'is it a checkpoint written by rnn?';

/**
 * Parses and validates the header of a file of `fileSize` bytes, of which `bytes` holds at
 * least the first 8 + header length: every tensor's dtype, shape and byte range (which
 * must tile the data section up to the end of the file) and the checksum entries' form.
 * @throws CheckpointError
 */
export function parseHeader(bytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  const length = headerLength(bytes, fileSize, file);
  if (bytes.length < 8 + length) throw new RangeError('parseHeader needs the whole header');
  if (bytes[8] !== 0x7b) fail(`header does not start with '{'; ${NOT_CHECKPOINT}`);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + length));
  } catch {
    fail('header is not valid UTF-8; the file is damaged');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0]! : 'parse error';
    const detail = message.length > 100 ? `${message.slice(0, 97)}...` : message;
    fail(`header is not valid JSON (${detail}); the file is damaged`);
  }
  if (!isPlainObject(header)) fail('header is not a JSON object; the file is damaged');
  const entries = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  if (Object.prototype.hasOwnProperty.call(entries, METADATA_KEY)) {
    const meta = entries[METADATA_KEY];
    if (!isPlainObject(meta)) fail(`${METADATA_KEY} is not a JSON object of strings; the file is damaged`);
    for (const [key, value] of Object.entries(meta as Record<string, unknown>)) {
      if (typeof value !== 'string') fail(`${METADATA_KEY} entry ${quote(key)} is not a string; the file is damaged`);
      metadata[key] = value as string;
    }
  }

  const dataStart = 8 + length;
  const dataLength = fileSize - dataStart;
  const infos: TensorInfo[] = [];
  for (const [name, raw] of Object.entries(entries)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor ${quote(name)}`;
    if (!isPlainObject(raw)) fail(`${where} is not a JSON object with dtype, shape and data_offsets; the file is damaged`);
    const info = raw as Record<string, unknown>;

    const dtype = info['dtype'];
    if (typeof dtype !== 'string') fail(`${where} has no dtype string; the file is damaged`);
    if (dtype !== 'F32' && dtype !== 'I32') {
      if (KNOWN_DTYPES.has(dtype as string)) {
        fail(`${where} has dtype ${dtype}, which rnn does not read (only F32 and I32); convert the tensors to float32`);
      }
      fail(`${where} has unknown dtype ${quote(dtype as string)}; the file is damaged or not a safetensors file`);
    }

    const shape = info['shape'];
    if (!Array.isArray(shape)) fail(`${where} has no shape array; the file is damaged`);
    for (const d of shape as unknown[]) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        fail(`${where} has shape entry ${describeJson(d)}, not a whole number ≥ 0; the file is damaged`);
      }
    }
    const dims = shape as number[];
    // The element count, capped just above what the data section could hold so that the
    // product stays an exact integer (the check against the byte range follows).
    let count = dims.includes(0) ? 0 : 1;
    for (const d of dims) {
      if (count === 0 || count > dataLength) break;
      count *= d;
    }

    const offsets = info['data_offsets'];
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`${where} has no data_offsets pair; the file is damaged`);
    const [begin, end] = offsets as unknown[];
    for (const o of [begin, end]) {
      if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) {
        fail(`${where} has data offset ${describeJson(o)}, not a whole number ≥ 0; the file is damaged`);
      }
    }
    const b = begin as number;
    const e = end as number;
    if (e < b) fail(`${where} has data_offsets [${b}, ${e}] that end before they begin; the file is damaged`);
    if (e > dataLength) {
      fail(`${where} has data_offsets [${b}, ${e}] past the end of the data (${dataLength} bytes); the file is truncated or damaged`);
    }
    if (count * 4 !== e - b) {
      fail(`${where} has shape [${dims.join(', ')}] of ${dtype} but ${e - b} bytes of data; the file is damaged`);
    }
    infos.push({ name, dtype: dtype as Dtype, shape: [...dims], begin: b, end: e });
  }

  infos.sort((p, q) => p.begin - q.begin || p.end - q.end);
  let expected = 0;
  for (const info of infos) {
    if (info.begin < expected) fail(`tensor ${quote(info.name)} overlaps the tensor before it (data_offsets [${info.begin}, ${info.end}]); the file is damaged`);
    if (info.begin > expected) fail(`the data section has unused bytes ${expected}..${info.begin} before tensor ${quote(info.name)}; the file is damaged`);
    expected = info.end;
  }
  if (expected !== dataLength) {
    fail(`the data section has ${dataLength - expected} bytes after the last tensor; the file is damaged or has trailing data`);
  }

  if (Object.prototype.hasOwnProperty.call(metadata, CHECKSUM_KEY) && !/^[0-9a-f]{8}$/.test(metadata[CHECKSUM_KEY]!)) {
    fail(`${METADATA_KEY} entry ${CHECKSUM_KEY} is ${quote(metadata[CHECKSUM_KEY]!)}, not a CRC-32; the file is damaged`);
  }
  let headBytes = 0;
  if (Object.prototype.hasOwnProperty.call(metadata, HEAD_CHECKSUM_KEY)) {
    const head = /^(0|[1-9]\d{0,15}):[0-9a-f]{8}$/.exec(metadata[HEAD_CHECKSUM_KEY]!);
    if (!head || Number(head[1]) > dataLength) {
      fail(`${METADATA_KEY} entry ${HEAD_CHECKSUM_KEY} is ${quote(metadata[HEAD_CHECKSUM_KEY]!)}, not a length within the data and a CRC-32; the file is damaged`);
    }
    headBytes = Number(head![1]);
  }
  return { metadata, tensors: infos, dataStart, dataLength, headBytes };
}

/**
 * Checks the recorded CRC-32s against `data`, the data section from its first byte: the
 * head checksum's bytes, and with `whole` (then `data` is all of it) the whole section's.
 * @throws CheckpointError when one does not match
 */
export function verifyChecksums(header: SafetensorsHeader, data: Uint8Array, file: string, whole: boolean): void {
  const { metadata, headBytes } = header;
  if (data.length < (whole ? header.dataLength : headBytes)) throw new RangeError('verifyChecksums needs the bytes it checks');
  const hasHead = Object.prototype.hasOwnProperty.call(metadata, HEAD_CHECKSUM_KEY);
  const head = hasHead ? crc32(data.subarray(0, headBytes)) : 0;
  if (hasHead) verifyHeadChecksum(header, head, file);
  if (whole && Object.prototype.hasOwnProperty.call(metadata, CHECKSUM_KEY)) {
    // the whole section's CRC continues from the head's
    checkCrc(crc32(data.subarray(headBytes, header.dataLength), head), metadata[CHECKSUM_KEY]!, file);
  }
}

/** Checks the CRC-32 of the data section's first headBytes bytes, computed by the caller, against HEAD_CHECKSUM_KEY's. */
export function verifyHeadChecksum(header: SafetensorsHeader, crc: number, file: string): void {
  checkCrc(crc, header.metadata[HEAD_CHECKSUM_KEY]!.slice(-8), file);
}

function checkCrc(actual: number, recorded: string, file: string): void {
  const hex = actual.toString(16).padStart(8, '0');
  if (hex !== recorded) {
    throw new CheckpointError(file, `the tensor data does not match the checksum recorded with it (CRC-32 ${hex}, recorded ${recorded}); the file is damaged: use another checkpoint of the run`);
  }
}

/**
 * The tensors in `data` (the data section from its first byte, holding at least the
 * tensors kept): fresh, aligned arrays in host byte order; with `share`, views of `data`
 * where the host is little-endian and a tensor is 4-byte aligned (for a caller that owns
 * `data` and hands it over).
 */
export function tensorData(header: SafetensorsHeader, data: Uint8Array, keep?: (name: string) => boolean, share = false): Map<string, TensorOut> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tensors = new Map<string, TensorOut>();
  for (const { name, dtype, shape, begin, end } of header.tensors) {
    if (keep && !keep(name)) continue;
    if (end > data.length) throw new RangeError(`tensorData: tensor ${name} is beyond the bytes given`);
    const count = (end - begin) / 4;
    let out: Float32Array | Int32Array;
    if (LITTLE_ENDIAN_HOST && share && (data.byteOffset + begin) % 4 === 0) {
      out = dtype === 'F32' ? new Float32Array(data.buffer, data.byteOffset + begin, count) : new Int32Array(data.buffer, data.byteOffset + begin, count);
    } else if (LITTLE_ENDIAN_HOST) {
      // fresh and aligned; Uint8Array's slice copies even when `data` is a Node Buffer (whose own slice would not)
      const copy = Uint8Array.prototype.slice.call(data, begin, end).buffer;
      out = dtype === 'F32' ? new Float32Array(copy) : new Int32Array(copy);
    } else if (dtype === 'F32') {
      out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(begin + 4 * i, true);
    } else {
      out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(begin + 4 * i, true);
    }
    tensors.set(name, { dtype, shape, data: out });
  }
  return tensors;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A name for an error message: JSON-quoted and cut short, so a hostile header cannot make a long line. */
function quote(text: string): string {
  const q = JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
  return q;
}

/** A JSON value for an error message, without recursing into arrays or objects. */
function describeJson(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return quote(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function describeU64(low: number, high: number): string {
  const value = BigInt(high) * 4294967296n + BigInt(low);
  return value.toString();
}
