// ONNX export of a classifier (src/nn/classifier.ts), on the encoder of onnx.ts.
//
// The graph (opset 17), for L layers, D = H or 2H (num_directions 1 or 2):
//
//   ids [T,B] int64 ──Gather(embed.weight)──► x_0 [T,B,E]
//   lengths [B] int64 ──Cast──► sequence_lens int32 (1 ≤ lengths[b] ≤ T)
//   layer l: LSTM | GRU | RNN (x_l, W_l, R_l, B_l, sequence_lens), direction forward or
//            bidirectional ──► Y [T,num_dir,B,H], Y_h [num_dir,B,H]
//            Transpose(Y, 0 2 1 3) → [T,B,num_dir,H], Reshape → x_{l+1} [T,B,D]
//            (the reverse direction reads each row backwards within its own length, as ours)
//   pooled [B,D]:
//     last  Transpose(Y_h of layer L−1, 1 0 2) → [B,num_dir,H], Reshape → [B,D]
//           (forward: the state at t = len−1; reverse: the state after reading back to t = 0)
//     mean  ReduceSum_t(x_L ⊙ valid) / lengths,  valid[t,b] = t < lengths[b]
//     max   ReduceMax_t(Where(valid, x_L, −∞))
//   logits [B,K] = Gemm(pooled, head.weight, head.bias, transB = 1); probs = Softmax(logits)
//
// Gate orders and the GRU z = 1 − u conversion as onnx.ts; W, R, B stack the forward
// direction then the reverse, as ONNX's bidirectional layout wants. lstm-peep and gru-min
// are refused as there. Positions t ≥ lengths[b] are never read, but Gather still looks
// their ids up: pad with a valid id (0).
import { encoderParamSpecs, encoderWidth } from '../nn/encoder.js';
import type { ClassifierConfig } from '../nn/classifier.js';
import {
  encodeOnnxModel, ExportError, i64, onnxUnsupportedReason, operatorFor, reorderGates,
  type OnnxGraph, type OnnxNode, type OnnxTensor,
} from './onnx.js';

/** TensorProto.DataType INT32 (Cast's `to`). */
const INT32 = 6;
const FLOAT = 1;

export interface ClassifierOnnxOptions {
  /** ModelProto.producer_version (the rnn version). */
  producerVersion?: string;
}

/** Builds the ONNX graph of a classifier (see the top of this file). */
export function classifierOnnxGraph(config: ClassifierConfig, params: ReadonlyMap<string, Float32Array>): OnnxGraph {
  const { cell, vocab: V, embed: E, hidden: H, layers: L, classes: K, pool } = config;
  const reason = onnxUnsupportedReason(cell);
  if (reason) throw new ExportError(reason);
  const { op, order, negate, attrs: opAttrs } = operatorFor(cell);
  const nd = config.bidirectional ? 2 : 1;
  // an explicit activation list names one per direction
  const attrs = { ...opAttrs };
  const acts = attrs.activations;
  if (acts && 'strings' in acts) attrs.activations = { strings: Array.from({ length: nd }, () => acts.strings).flat() };
  const D = encoderWidth(config);
  const param = (name: string): Float32Array => {
    const p = params.get(name);
    if (!p) throw new ExportError(`the checkpoint has no tensor ${name}`);
    return p;
  };
  const specs = [...encoderParamSpecs(config), { name: 'head.weight', shape: [K, D] }, { name: 'head.bias', shape: [K] }];
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (param(spec.name).length !== n) throw new ExportError(`tensor ${spec.name} has ${param(spec.name).length} values, expected ${n}`);
  }

  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const init = (name: string, dims: number[], data: Float32Array | BigInt64Array) => {
    initializers.push({ name, dims, data });
    return name;
  };
  const node = (opType: string, inputs: string[], output: string, a?: OnnxNode['attrs']) => {
    nodes.push({ op: opType, inputs, outputs: [output], attrs: a });
    return output;
  };

  init('embed.weight', [V, E], param('embed.weight'));
  node('Gather', ['embed.weight', 'ids'], 'x_0', { axis: { int: 0 } });
  node('Cast', ['lengths'], 'sequence_lens', { to: { int: INT32 } });
  init('const.shape_TBD', [3], i64(0, 0, -1));

  const G = order.length * H;
  const sfx = (d: number) => (d === 1 ? '_reverse' : '');
  let lastYh = '';
  for (let l = 0; l < L; l++) {
    const In = l === 0 ? E : D;
    const W = new Float32Array(nd * G * In);
    const R = new Float32Array(nd * G * H);
    const Bias = new Float32Array(nd * 2 * G);
    for (let d = 0; d < nd; d++) {
      const name = (kind: string) => `rnn.${kind}_l${l}${sfx(d)}`;
      W.set(reorderGates(param(name('weight_ih')), H, In, order, negate), d * G * In);
      R.set(reorderGates(param(name('weight_hh')), H, H, order, negate), d * G * H);
      Bias.set(reorderGates(param(name('bias_ih')), H, 1, order, negate), d * 2 * G);
      Bias.set(reorderGates(param(name('bias_hh')), H, 1, order, negate), d * 2 * G + G);
    }
    init(`onnx.W_l${l}`, [nd, G, In], W);
    init(`onnx.R_l${l}`, [nd, G, H], R);
    init(`onnx.B_l${l}`, [nd, 2 * G], Bias);
    nodes.push({
      op,
      inputs: [`x_${l}`, `onnx.W_l${l}`, `onnx.R_l${l}`, `onnx.B_l${l}`, 'sequence_lens'],
      outputs: [`y_l${l}`, `yh_l${l}`],
      attrs: { hidden_size: { int: H }, direction: { string: nd === 2 ? 'bidirectional' : 'forward' }, ...attrs },
    });
    // Y [T,num_dir,B,H] → [T,B,num_dir,H] → [T,B,D]: [h→_t ; h←_t]
    node('Transpose', [`y_l${l}`], `yt_l${l}`, { perm: { ints: [0, 2, 1, 3] } });
    node('Reshape', [`yt_l${l}`, 'const.shape_TBD'], `x_${l + 1}`);
    lastYh = `yh_l${l}`;
  }

  const top = `x_${L}`;
  let pooled: string;
  if (pool === 'last') {
    init('const.shape_BD', [2], i64(0, -1));
    node('Transpose', [lastYh], 'yh_t', { perm: { ints: [1, 0, 2] } });
    pooled = node('Reshape', ['yh_t', 'const.shape_BD'], 'pooled');
  } else {
    // valid [T,B,1] = (t < lengths[b]) from Range(0, T)
    init('const.zero', [], i64(0));
    init('const.one', [], i64(1));
    init('const.axes0', [1], i64(0));
    init('const.axes1', [1], i64(1));
    init('const.axes2', [1], i64(2));
    node('Shape', ['ids'], 'steps_1d', { start: { int: 0 }, end: { int: 1 } });
    node('Squeeze', ['steps_1d', 'const.axes0'], 'steps');
    node('Range', ['const.zero', 'steps', 'const.one'], 'times');
    node('Unsqueeze', ['times', 'const.axes1'], 'times_T1');
    node('Unsqueeze', ['lengths', 'const.axes0'], 'lengths_1B');
    node('Less', ['times_T1', 'lengths_1B'], 'valid_TB');
    node('Unsqueeze', ['valid_TB', 'const.axes2'], 'valid');
    if (pool === 'mean') {
      node('Cast', ['valid'], 'valid_f', { to: { int: FLOAT } });
      node('Mul', [top, 'valid_f'], 'masked');
      node('ReduceSum', ['masked', 'const.axes0'], 'sum', { keepdims: { int: 0 } });
      node('Cast', ['lengths'], 'lengths_f', { to: { int: FLOAT } });
      node('Unsqueeze', ['lengths_f', 'const.axes1'], 'lengths_B1');
      pooled = node('Div', ['sum', 'lengths_B1'], 'pooled');
    } else {
      init('const.lowest', [], Float32Array.of(-Infinity));
      node('Where', ['valid', top, 'const.lowest'], 'masked');
      pooled = node('ReduceMax', ['masked'], 'pooled', { axes: { ints: [0] }, keepdims: { int: 0 } });
    }
  }
  init('head.weight', [K, D], param('head.weight'));
  init('head.bias', [K], param('head.bias'));
  node('Gemm', [pooled, 'head.weight', 'head.bias'], 'logits', { transB: { int: 1 } });
  node('Softmax', ['logits'], 'probs', { axis: { int: 1 } });

  return {
    name: `rnn_classifier_${cell.replace('-', '_')}`,
    nodes,
    initializers,
    inputs: [
      { name: 'ids', elemType: 'int64', dims: ['T', 'B'] },
      { name: 'lengths', elemType: 'int64', dims: ['B'] },
    ],
    outputs: [
      { name: 'logits', elemType: 'float', dims: ['B', K] },
      { name: 'probs', elemType: 'float', dims: ['B', K] },
    ],
  };
}

/**
 * A classifier as ONNX bytes; `vocab` (id → character) and `classes` (id → label) go into
 * the metadata so a caller can encode inputs and name the outputs.
 *
 * @throws ExportError for cells ONNX cannot express (lstm-peep, gru-min).
 */
export function classifierToOnnx(
  config: ClassifierConfig, params: ReadonlyMap<string, Float32Array>, vocab: readonly string[], classes: readonly string[],
  opts: ClassifierOnnxOptions = {},
): Uint8Array {
  if (vocab.length !== config.vocab) throw new ExportError(`the vocabulary has ${vocab.length} entries, the model ${config.vocab}`);
  if (classes.length !== config.classes) throw new ExportError(`there are ${classes.length} class names, the model has ${config.classes} classes`);
  const graph = classifierOnnxGraph(config, params);
  const { cell, layers, hidden, embed, bidirectional, pool } = config;
  return encodeOnnxModel(graph, {
    producerName: 'rnn',
    producerVersion: opts.producerVersion ?? '0.0.0',
    docString:
      `Character-level ${bidirectional ? 'bidirectional ' : ''}${cell} classifier (${layers}×${hidden}, embed ${embed}, ` +
      `vocab ${config.vocab}, ${config.classes} classes, ${pool} pooling). Inputs ids [T,B] int64 (time-major, ` +
      'padded with 0) and lengths [B] int64 (1 ≤ length ≤ T); outputs logits and probs [B,K]. ' +
      'The vocabulary (id → character) is in metadata "vocab", the class names (id → label) in "classes".',
    metadata: {
      format: 'rnn-classifier',
      cell,
      model: JSON.stringify(config),
      vocab: JSON.stringify(vocab),
      classes: JSON.stringify(classes),
    },
  });
}
