// The library API: everything the CLI uses, for programs that want to train or sample
// without spawning it. Never imports src/cli.
export { createKernels, ReferenceKernels, type Kernels, type KernelOptions, type BackendName } from './kernels/index.js';
export { Model, Workspace, paramSpecs, type ModelConfig } from './nn/model.js';
export { CELL_KINDS, type CellKind } from './nn/layer.js';
export {
  ClassifierModel, ClassifierWorkspace, classifierParamSpecs, validateClassifierConfig, POOL_KINDS,
  type ClassifierConfig, type PoolKind,
} from './nn/classifier.js';
export {
  Encoder, EncoderWorkspace, encoderParamSpecs, encoderWidth, initEncoder, validateEncoderConfig,
  type EncoderConfig, type EncoderState, type EncoderWorkspaceOptions,
} from './nn/encoder.js';
export { Vocab } from './text/vocab.js';
export { decodeCorpus, readCorpusPath } from './text/corpus.js';
export { Batcher, splitTrainVal } from './text/batches.js';
export { Trainer, type TrainEvent, type TrainHooks, type StopReason } from './train/trainer.js';
export { TRAIN_DEFAULTS, type TrainConfig } from './train/config.js';
export { type RunState, type TrainProgress, type HistoryPoint } from './train/state.js';
export { prepareRun, checkpointHeader, type StartRequest, type PreparedRun, type TrainOptions } from './train/run.js';
export { Evaluator } from './tasks/lm-eval.js';
export { lmTask, lmSession } from './tasks/lm.js';
export { TASKS, taskByName, requireTask, type TaskName } from './tasks/registry.js';
export type { Task, TaskSession, Metrics, DataInput, Network } from './tasks/task.js';
export { learningRate, type ScheduleConfig } from './train/schedule.js';
export { Sampler, type SampleOptions } from './sample/sampler.js';
export { readCheckpoint, decodeCheckpoint, modelFromCheckpoint, encodeCheckpoint, saveCheckpoint, type Checkpoint, type CheckpointHeader } from './checkpoint/store.js';
export { encodeSafetensors, decodeSafetensors } from './checkpoint/safetensors.js';
export { Rng } from './util/rng.js';
export * from './util/errors.js';
export { classifyTask, ClassifySession, Predictor, BucketBatcher, encodeExamples, type ClassifyMeta, type ClassifyOptions } from './tasks/classify.js';
export { classificationReport, type ClassificationReport } from './tasks/classify-metrics.js';
export { readLabelled, parseTable, stratifiedSplit, type LabelledSet, type LabelledLayout, type Example } from './text/labelled.js';
