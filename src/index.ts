// The library API (the package entry, built to dist/index.js with type declarations):
// what a program needs to train, resume, evaluate, score, sample and export without
// spawning the CLI. Exported deliberately, by job; anything not listed here is internal
// and may change. Never imports src/cli.
//
//   train     prepareRun({ kernels, input, options }) → { trainer, header } ;
//             trainer.run({ onEvent, save: (state, kind) => saveCheckpoint(path, header, state), stopRequested })
//   resume    prepareRun({ …, resume: await readCheckpoint(path) })
//   sample    modelFromCheckpoint(kernels, ckpt) → new Sampler(model, ckpt.vocab, opts) → Generation
//   evaluate  evaluateText(model, vocab, text) ; score lines with LineScorer
//   export    exportOnnx({ model, params, chars }) ; encodeWeightsOnly(ckpt)

// compute
export { createKernels, ReferenceKernels, type Kernels, type KernelOptions, type BackendName } from './kernels/index.js';
export { Model, Workspace, paramSpecs, type ModelConfig } from './nn/model.js';
export { CELL_KINDS, type CellKind } from './nn/layer.js';
export { OPTIMIZERS, type OptimName } from './nn/optim.js';
export {
  ClassifierModel, ClassifierWorkspace, classifierParamSpecs, validateClassifierConfig, POOL_KINDS,
  type ClassifierConfig, type PoolKind,
} from './nn/classifier.js';
export {
  Encoder, EncoderWorkspace, encoderParamSpecs, encoderWidth, initEncoder, validateEncoderConfig,
  type EncoderConfig, type EncoderState, type EncoderWorkspaceOptions,
} from './nn/encoder.js';

// text
export { Vocab } from './text/vocab.js';
export { decodeCorpus, readCorpusPath, TextStreamDecoder, MAX_CORPUS_BYTES } from './text/corpus.js';
export { Batcher, splitTrainVal } from './text/batches.js';

// tasks
export { TASKS, TASK_NAMES, taskByName, requireTask, type TaskName } from './tasks/registry.js';
export type { Task, TaskSession, Metrics, MetricSpec, DataInput, DataSize, Network, DecodedMeta } from './tasks/task.js';
export { lmTask, lmSession, LmSession, type LmData, type LmMeta } from './tasks/lm.js';
export { Evaluator } from './tasks/lm-eval.js';

// training and resuming
export { prepareRun, resumeConfig, freshConfig, checkpointHeader, flagName, COMMON_TRAIN_FLAGS, type StartRequest, type PreparedRun, type TrainOptions } from './train/run.js';
export { Trainer, type TrainEvent, type TrainHooks, type StopReason } from './train/trainer.js';
export { TRAIN_DEFAULTS, type TrainConfig } from './train/config.js';
export { copyState, stateIsFinite, type RunState, type TrainProgress, type HistoryPoint } from './train/state.js';
export { learningRate, SCHEDULES, type ScheduleConfig, type ScheduleName } from './train/schedule.js';

// sampling, evaluation, scoring
export { Sampler, type SampleOptions } from './sample/sampler.js';
export { Generation, StopMatcher, type StopRules } from './sample/generate.js';
export { StateStream } from './sample/stream.js';
export { evaluateText, evaluateIds, LineScorer, type TextLoss, type LineScore, type CharSurprisal } from './sample/score.js';

// checkpoints and export
export {
  readCheckpoint, readModel, decodeCheckpoint, modelFromCheckpoint, encodeCheckpoint, saveCheckpoint,
  FORMAT_NAME, FORMAT_VERSION, SUPPORTED_VERSIONS, type Checkpoint, type CheckpointHeader,
} from './checkpoint/store.js';
export { encodeSafetensors, decodeSafetensors, CHECKSUM_KEY, type TensorIn, type TensorOut } from './checkpoint/safetensors.js';
export { writeFileAtomic, newestFile } from './checkpoint/atomic.js';
export { prepareFolder, removeStaleTemporaries, FolderError } from './checkpoint/folder.js';
export { encodeWeightsOnly } from './checkpoint/interop.js';
export { exportOnnx, onnxUnsupportedReason, ExportError, ONNX_OPSET, type ExportableModel, type OnnxExportOptions } from './checkpoint/onnx.js';

// utilities
export { Rng } from './util/rng.js';
export * from './util/errors.js';
export { classifyTask, ClassifySession, Predictor, BucketBatcher, encodeExamples, type ClassifyMeta, type ClassifyOptions } from './tasks/classify.js';
export { classificationReport, type ClassificationReport } from './tasks/classify-metrics.js';
export { readLabelled, parseTable, stratifiedSplit, type LabelledSet, type LabelledLayout, type Example } from './text/labelled.js';
