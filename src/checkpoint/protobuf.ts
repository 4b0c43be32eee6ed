// A minimal Protocol Buffers writer: just what an ONNX ModelProto needs.
//
// Wire format (protobuf encoding spec):
//   key      = varint(field_number << 3 | wire_type)
//   type 0   varint: 7 bits per byte, least significant group first, high bit = "more";
//            a negative int64 is its 64-bit two's complement (10 bytes)
//   type 2   length-delimited: varint(byte length), then the bytes (strings, bytes,
//            embedded messages, packed repeated scalars)
//   type 5   fixed32: 4 bytes little-endian (float)
// Fields may appear in any order; a repeated field is simply written once per element.

const WIRE_VARINT = 0;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.size;
  }

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  private varint(value: number | bigint): void {
    let v = typeof value === 'bigint' ? value : BigInt(value);
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`varint ${value} is not a safe integer`);
    v = BigInt.asUintN(64, v); // two's complement for negatives
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** int32, int64 or enum field. */
  int(field: number, value: number | bigint): this {
    this.key(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** float field (fixed32). */
  float(field: number, value: number): this {
    this.key(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  /** bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_LENGTH);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  /** string field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** Embedded message field. */
  message(field: number, sub: ProtoWriter): this {
    return this.bytes(field, sub.finish());
  }

  /** The message's bytes. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
