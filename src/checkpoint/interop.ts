// Taking a checkpoint elsewhere: a weights-only safetensors file (the model tensors with
// PyTorch's names plus the metadata rnn needs to sample: format, format_version, cell,
// model, vocab) and the ONNX graph (onnx.ts).
//
// A weights-only file is exactly what a PyTorch script writes when it sends a model back
// (test/fixtures/torch_interop.py): readCheckpoint loads it like any checkpoint, with no
// optimizer moments, carried state or progress, so it samples but cannot be resumed.
import { paramSpecs, type ModelConfig } from '../nn/model.js';
import type { Vocab } from '../text/vocab.js';
import { FORMAT_NAME, FORMAT_VERSION } from './store.js';
import { encodeSafetensors } from './safetensors.js';

/** The model tensors and sampling metadata of a checkpoint, without the training state. */
export function encodeWeightsOnly(ckpt: { model: ModelConfig; vocab: Vocab; params: ReadonlyMap<string, Float32Array> }): Uint8Array {
  const tensors = paramSpecs(ckpt.model).map((s) => ({ name: s.name, shape: s.shape, data: ckpt.params.get(s.name)! }));
  return encodeSafetensors(tensors, {
    format: FORMAT_NAME,
    format_version: String(FORMAT_VERSION),
    cell: ckpt.model.cell,
    model: JSON.stringify(ckpt.model),
    vocab: JSON.stringify(ckpt.vocab.toJSON()),
  }, { checksum: true });
}
