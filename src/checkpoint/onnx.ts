// ONNX export: the network of a checkpoint as an ONNX ModelProto, encoded by hand
// (protobuf.ts) from onnx.proto, so no ONNX package is needed at run time.
//
// The graph (opset 17, IR version 8), for L layers:
//
//   ids [T,B] int64 ──Gather(embed.weight [V,E])──► x_0 [T,B,E]
//   h0 [L,B,H] ──Slice layer l──► [1,B,H]; c0 likewise (LSTM only). With stateInputs
//   false there are no state inputs: zeros [L,1,H] are expanded to the batch of ids.
//   layer l: LSTM | GRU | RNN (x_l, W_l, R_l, B_l, "", h0_l[, c0_l]) ──► Y [T,1,B,H], Y_h, Y_c
//            Squeeze(Y, axis 1) ──► x_{l+1} [T,B,H]
//   logits [T,B,V] = MatMul(x_L, head.weightᵀ [H,V]) + head.bias
//   h_n [L,B,H] = Concat(Y_h of every layer); c_n likewise (LSTM)
//
// A conditioned model (model.tags = K) takes one more input, tag [T,B,K] float: the tag
// weighting of every position (one-hot rows for a tag, row 0 for untagged, a blend's
// weights), and its layer 0 reads the concatenation of src/nn/model.ts:
//   x_0 = Concat(Gather(embed.weight, ids), MatMul(tag, tag_embed.weight [K,D]))  [T,B,E+D]
//   W_l0 = [rnn.weight_ih_l0 | rnn.weight_ih_tag_l0]                               [G,E+D]
// The tag names (rows 1..K) are in metadata "tags".
//
// Weight mapping from our (PyTorch) layout to ONNX's, per layer (W [1,G,In], R [1,G,H],
// B [1,2G] = bias_ih ‖ bias_hh):
//   'lstm'      ours i,f,g,o → ONNX i,o,f,c (rows reordered)
//   'gru-torch' ours r,z,n → ONNX z,r,h, linear_before_reset = 1 (PyTorch's GRU exactly)
//   'gru'       ours r,u,c (reset before the product) → ONNX z,r,h, linear_before_reset = 0.
//               ONNX keeps the old state with z (h = (1−z)⊙h̃ + z⊙h_{t-1}) while we keep it
//               with 1−u (c = u⊙c̃ + (1−u)⊙c_{t-1}); so z = 1−u = σ(−pre_u): the u rows and
//               biases are negated.
//   'rnn'       → RNN (Tanh); 'rnn-relu' → RNN with activations = [Relu]
// Not exportable (refused with ExportError): 'lstm-peep' (its peephole is a full [3H,H]
// matrix on c_{t-1}; ONNX's LSTM peepholes are diagonal) and 'gru-min' (no ONNX operator).
import type { ModelConfig } from '../nn/model.js';
import { isConditioned, paramSpecs } from '../nn/model.js';
import { RnnError } from '../util/errors.js';
import { ProtoWriter } from './protobuf.js';

/** The model cannot be expressed in ONNX's recurrent operators. */
export class ExportError extends RnnError {}

export const ONNX_OPSET = 17;
/** Name of the tag row 0 (untagged) in the metadata's tag list. */
const NO_TAG_NAME = 'none';
export const ONNX_IR_VERSION = 8;

/** TensorProto.DataType values used here. */
const FLOAT = 1;
const INT64 = 7;

/** AttributeProto.AttributeType values used here. */
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

export type AttrValue = { int: number } | { float: number } | { string: string } | { ints: number[] } | { strings: string[] };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxValueInfo {
  name: string;
  elemType: 'float' | 'int64';
  /** A number for a fixed size, a string for a named (symbolic) dimension. */
  dims: Array<number | string>;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModelOptions {
  producerName: string;
  producerVersion: string;
  docString?: string;
  /** ModelProto.metadata_props */
  metadata?: Record<string, string>;
}

// ---- encoding (field numbers from onnx.proto) ----

function attributeProto(name: string, value: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name); // name = 1
  if ('int' in value) w.int(3, value.int).int(20, ATTR_INT); // i = 3, type = 20
  else if ('float' in value) w.float(2, value.float).int(20, ATTR_FLOAT); // f = 2
  else if ('string' in value) w.string(4, value.string).int(20, ATTR_STRING); // s = 4
  else if ('ints' in value) {
    for (const i of value.ints) w.int(8, i); // ints = 8
    w.int(20, ATTR_INTS);
  } else {
    for (const s of value.strings) w.string(9, s); // strings = 9
    w.int(20, ATTR_STRINGS);
  }
  return w;
}

function nodeProto(node: OnnxNode, index: number): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of node.inputs) w.string(1, i); // input = 1
  for (const o of node.outputs) w.string(2, o); // output = 2
  w.string(3, `${node.op}_${index}`); // name = 3
  w.string(4, node.op); // op_type = 4
  for (const [name, value] of Object.entries(node.attrs ?? {})) w.message(5, attributeProto(name, value)); // attribute = 5
  return w;
}

function tensorProto(t: OnnxTensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d); // dims = 1
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64); // data_type = 2
  w.string(8, t.name); // name = 8
  // raw_data = 9: little-endian bytes
  const raw = new Uint8Array(t.data.byteLength);
  const view = new DataView(raw.buffer);
  if (t.data instanceof Float32Array) t.data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  else t.data.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  w.bytes(9, raw);
  return w;
}

function valueInfoProto(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    // TensorShapeProto.dim = 1; Dimension.dim_value = 1, dim_param = 2
    const dim = typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d);
    shape.message(1, dim);
  }
  // TypeProto.Tensor: elem_type = 1, shape = 2
  const tensorType = new ProtoWriter().int(1, v.elemType === 'float' ? FLOAT : INT64).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType); // TypeProto.tensor_type = 1
  return new ProtoWriter().string(1, v.name).message(2, type); // ValueInfoProto: name = 1, type = 2
}

/** Serialises a ModelProto holding one graph and the default-domain opset. */
export function encodeOnnxModel(graph: OnnxGraph, opts: OnnxModelOptions): Uint8Array {
  const g = new ProtoWriter();
  graph.nodes.forEach((n, i) => g.message(1, nodeProto(n, i))); // node = 1
  g.string(2, graph.name); // name = 2
  for (const t of graph.initializers) g.message(5, tensorProto(t)); // initializer = 5
  for (const v of graph.inputs) g.message(11, valueInfoProto(v)); // input = 11
  for (const v of graph.outputs) g.message(12, valueInfoProto(v)); // output = 12

  const m = new ProtoWriter();
  m.int(1, ONNX_IR_VERSION); // ir_version = 1
  m.string(2, opts.producerName); // producer_name = 2
  m.string(3, opts.producerVersion); // producer_version = 3
  if (opts.docString) m.string(6, opts.docString); // doc_string = 6
  m.message(7, g); // graph = 7
  m.message(8, new ProtoWriter().string(1, '').int(2, ONNX_OPSET)); // opset_import = 8 {domain = 1, version = 2}
  for (const [key, value] of Object.entries(opts.metadata ?? {})) {
    m.message(14, new ProtoWriter().string(1, key).string(2, value)); // metadata_props = 14 {key = 1, value = 2}
  }
  return m.finish();
}

// ---- the rnn network as an ONNX graph ----

export interface ExportableModel {
  model: ModelConfig;
  params: Map<string, Float32Array>;
  /** The vocabulary in id order (stored in the ONNX metadata so ids can be decoded). */
  chars: readonly string[];
  /** A conditioned model's tag names (rows 1..K of its tag table), for the metadata. */
  tags?: readonly string[];
}

export interface OnnxExportOptions {
  /**
   * true (default): the graph takes the initial states h0 (and c0 for LSTM) [L,B,H] as
   * inputs, so a caller can carry state from one call to the next (pass zeros to start).
   * false: the graph takes ids only and starts from zero states.
   */
  stateInputs?: boolean;
  /** ModelProto.producer_version (the rnn version). */
  producerVersion?: string;
}

/** Why a cell cannot be exported, or null when it can. */
export function onnxUnsupportedReason(cell: ModelConfig['cell']): string | null {
  if (cell === 'lstm-peep') {
    return "cell lstm-peep cannot be exported to ONNX: its peephole weights are a full matrix on the cell state, and ONNX's LSTM has only diagonal peepholes; train with --cell lstm to export";
  }
  if (cell === 'gru-min') {
    return 'cell gru-min cannot be exported to ONNX: ONNX has no operator for the minimal GRU; train with --cell gru or gru-torch to export';
  }
  return null;
}

/** Rows [from·H, (from+1)·H) of each listed gate block, concatenated in the listed order. */
export function reorderGates(src: Float32Array, H: number, width: number, order: number[], negate: number[] = []): Float32Array {
  const block = H * width;
  const out = new Float32Array(order.length * block);
  order.forEach((from, to) => {
    const rows = src.subarray(from * block, (from + 1) * block);
    if (negate.includes(from)) for (let i = 0; i < block; i++) out[to * block + i] = -rows[i]!;
    else out.set(rows, to * block);
  });
  return out;
}

/** How our gate blocks map onto the ONNX operator's. */
export function operatorFor(cell: ModelConfig['cell']): { op: 'LSTM' | 'GRU' | 'RNN'; order: number[]; negate: number[]; attrs: Record<string, AttrValue> } {
  switch (cell) {
    case 'lstm':
      return { op: 'LSTM', order: [0, 3, 1, 2], negate: [], attrs: {} }; // i,f,g,o → i,o,f,c
    case 'gru-torch':
      return { op: 'GRU', order: [1, 0, 2], negate: [], attrs: { linear_before_reset: { int: 1 } } }; // r,z,n → z,r,h
    case 'gru':
      return { op: 'GRU', order: [1, 0, 2], negate: [1], attrs: { linear_before_reset: { int: 0 } } }; // r,u,c → z=1−u,r,h
    case 'rnn':
      return { op: 'RNN', order: [0], negate: [], attrs: { activations: { strings: ['Tanh'] } } };
    case 'rnn-relu':
      return { op: 'RNN', order: [0], negate: [], attrs: { activations: { strings: ['Relu'] } } };
    default:
      throw new ExportError(onnxUnsupportedReason(cell) ?? `cell ${String(cell)} cannot be exported to ONNX`);
  }
}

/** [rows, a + b]: the columns of A [rows, a], then those of B [rows, b]. */
function concatColumns(A: Float32Array, a: number, B: Float32Array, b: number): Float32Array {
  const rows = A.length / a;
  const out = new Float32Array(rows * (a + b));
  for (let r = 0; r < rows; r++) {
    out.set(A.subarray(r * a, (r + 1) * a), r * (a + b));
    out.set(B.subarray(r * b, (r + 1) * b), r * (a + b) + a);
  }
  return out;
}

export function i64(...values: number[]): BigInt64Array {
  return BigInt64Array.from(values.map((v) => BigInt(v)));
}

/** Builds the ONNX graph of a model (see the top of this file). */
export function onnxGraph(src: ExportableModel, { stateInputs = true }: OnnxExportOptions = {}): OnnxGraph {
  const { cell, vocab: V, embed: E, hidden: H, layers: L } = src.model;
  const reason = onnxUnsupportedReason(cell);
  if (reason) throw new ExportError(reason);
  const { op, order, negate, attrs } = operatorFor(cell);
  const lstm = op === 'LSTM';
  const param = (name: string): Float32Array => {
    const p = src.params.get(name);
    if (!p) throw new ExportError(`the checkpoint has no tensor ${name}`);
    return p;
  };
  for (const spec of paramSpecs(src.model)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (param(spec.name).length !== n) throw new ExportError(`tensor ${spec.name} has ${param(spec.name).length} values, expected ${n}`);
  }

  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const init = (name: string, dims: number[], data: Float32Array | BigInt64Array) => {
    initializers.push({ name, dims, data });
    return name;
  };

  const cond = isConditioned(src.model);
  const D = cond ? src.model.tagEmbed! : 0;
  const K = cond ? src.model.tags! : 0;
  init('embed.weight', [V, E], param('embed.weight'));
  nodes.push({ op: 'Gather', inputs: ['embed.weight', 'ids'], outputs: [cond ? 'x_char' : 'x_0'], attrs: { axis: { int: 0 } } });
  if (cond) {
    // x_0 = [embed[ids] ; tag · tag_embed]
    init('tag_embed.weight', [K, D], param('tag_embed.weight'));
    nodes.push({ op: 'MatMul', inputs: ['tag', 'tag_embed.weight'], outputs: ['x_tag'] });
    nodes.push({ op: 'Concat', inputs: ['x_char', 'x_tag'], outputs: ['x_0'], attrs: { axis: { int: 2 } } });
  }

  // initial states: graph inputs h0 (c0) [L,B,H], or, without state inputs, zeros of
  // batch 1 expanded to the batch of ids
  const h0 = stateInputs ? 'h0' : 'h0_zeros';
  const c0 = stateInputs ? 'c0' : 'c0_zeros';
  if (!stateInputs) {
    init('zeros.state', [L, 1, H], new Float32Array(L * H));
    init('const.L', [1], i64(L));
    init('const.H', [1], i64(H));
    nodes.push({ op: 'Shape', inputs: ['ids'], outputs: ['batch'], attrs: { start: { int: 1 }, end: { int: 2 } } });
    nodes.push({ op: 'Concat', inputs: ['const.L', 'batch', 'const.H'], outputs: ['state_shape'], attrs: { axis: { int: 0 } } });
    nodes.push({ op: 'Expand', inputs: ['zeros.state', 'state_shape'], outputs: [h0] });
    if (lstm) nodes.push({ op: 'Expand', inputs: ['zeros.state', 'state_shape'], outputs: [c0] });
  }
  init('const.axis0', [1], i64(0));
  init('const.axis1', [1], i64(1));

  const G = order.length * H;
  const finalH: string[] = [];
  const finalC: string[] = [];
  for (let l = 0; l < L; l++) {
    const In = l === 0 ? E + D : H;
    const W = reorderGates(l === 0 && cond ? concatColumns(param('rnn.weight_ih_l0'), E, param('rnn.weight_ih_tag_l0'), D) : param(`rnn.weight_ih_l${l}`), H, In, order, negate);
    const R = reorderGates(param(`rnn.weight_hh_l${l}`), H, H, order, negate);
    const B = new Float32Array(2 * G);
    B.set(reorderGates(param(`rnn.bias_ih_l${l}`), H, 1, order, negate), 0);
    B.set(reorderGates(param(`rnn.bias_hh_l${l}`), H, 1, order, negate), G);
    init(`onnx.W_l${l}`, [1, G, In], W);
    init(`onnx.R_l${l}`, [1, G, H], R);
    init(`onnx.B_l${l}`, [1, 2 * G], B);
    init(`const.start_l${l}`, [1], i64(l));
    init(`const.end_l${l}`, [1], i64(l + 1));
    nodes.push({ op: 'Slice', inputs: [h0, `const.start_l${l}`, `const.end_l${l}`, 'const.axis0'], outputs: [`h0_l${l}`] });
    const inputs = [`x_${l}`, `onnx.W_l${l}`, `onnx.R_l${l}`, `onnx.B_l${l}`, '', `h0_l${l}`];
    const outputs = [`y_l${l}`, `hn_l${l}`];
    if (lstm) {
      nodes.push({ op: 'Slice', inputs: [c0, `const.start_l${l}`, `const.end_l${l}`, 'const.axis0'], outputs: [`c0_l${l}`] });
      inputs.push(`c0_l${l}`);
      outputs.push(`cn_l${l}`);
      finalC.push(`cn_l${l}`);
    }
    finalH.push(`hn_l${l}`);
    nodes.push({ op, inputs, outputs, attrs: { hidden_size: { int: H }, ...attrs } });
    // Y [T, num_directions = 1, B, H] → [T, B, H]
    nodes.push({ op: 'Squeeze', inputs: [`y_l${l}`, 'const.axis1'], outputs: [`x_${l + 1}`] });
  }

  // head: logits = x_L · head.weightᵀ + head.bias
  const Wy = param('head.weight'); // [V, H]
  const WyT = new Float32Array(H * V);
  for (let v = 0; v < V; v++) for (let h = 0; h < H; h++) WyT[h * V + v] = Wy[v * H + h]!;
  init('head.weight_t', [H, V], WyT);
  init('head.bias', [V], param('head.bias'));
  nodes.push({ op: 'MatMul', inputs: [`x_${L}`, 'head.weight_t'], outputs: ['head_mm'] });
  nodes.push({ op: 'Add', inputs: ['head_mm', 'head.bias'], outputs: ['logits'] });
  nodes.push({ op: 'Concat', inputs: finalH, outputs: ['h_n'], attrs: { axis: { int: 0 } } });
  if (lstm) nodes.push({ op: 'Concat', inputs: finalC, outputs: ['c_n'], attrs: { axis: { int: 0 } } });

  const state = (name: string): OnnxValueInfo => ({ name, elemType: 'float', dims: [L, 'B', H] });
  return {
    name: `rnn_${cell.replace('-', '_')}`,
    nodes,
    initializers,
    inputs: [
      { name: 'ids', elemType: 'int64', dims: ['T', 'B'] },
      ...(cond ? [{ name: 'tag', elemType: 'float' as const, dims: ['T', 'B', K] }] : []),
      ...(stateInputs ? [state('h0'), ...(lstm ? [state('c0')] : [])] : []),
    ],
    outputs: [
      { name: 'logits', elemType: 'float', dims: ['T', 'B', V] },
      state('h_n'),
      ...(lstm ? [state('c_n')] : []),
    ],
  };
}

/**
 * The model as ONNX bytes.
 *
 * @throws ExportError for cells ONNX cannot express (lstm-peep, gru-min).
 */
export function exportOnnx(src: ExportableModel, opts: OnnxExportOptions = {}): Uint8Array {
  const graph = onnxGraph(src, opts);
  const stateInputs = opts.stateInputs ?? true;
  const { cell, vocab, embed, hidden, layers } = src.model;
  return encodeOnnxModel(graph, {
    producerName: 'rnn',
    producerVersion: opts.producerVersion ?? '0.0.0',
    docString:
      `Character-level ${cell} language model (${layers}×${hidden}, embed ${embed}, vocab ${vocab}). ` +
      'Input ids [T,B] int64 (time-major)' +
      (isConditioned(src.model) ? `, tag [T,B,${src.model.tags}] float (per position a weighting of the tag rows: one-hot, row 0 untagged, or a blend; names in metadata "tags")` : '') +
      (stateInputs ? `, initial states h0${cell === 'lstm' ? ', c0' : ''} [L,B,H] (zeros to start); ` : ' (zero initial state); ') +
      'outputs logits [T,B,V] and the final states. The vocabulary (id → character) is in metadata "vocab".',
    metadata: {
      format: 'rnn-charlm',
      cell,
      model: JSON.stringify(src.model),
      vocab: JSON.stringify(src.chars),
      ...(src.tags ? { tags: JSON.stringify([NO_TAG_NAME, ...src.tags]) } : {}),
    },
  });
}
