// The library API: everything the CLI uses, for programs that want to train or sample
// without spawning it. Never imports src/cli.
export { createKernels, ReferenceKernels, type Kernels, type KernelOptions, type BackendName } from './kernels/index.js';
export { Model, Workspace, paramSpecs, type ModelConfig } from './nn/model.js';
export { CELL_KINDS, type CellKind } from './nn/layer.js';
export { Vocab } from './text/vocab.js';
export { decodeCorpus, readCorpusPath } from './text/corpus.js';
export { Batcher, splitTrainVal } from './text/batches.js';
export { Trainer, type TrainConfig, type TrainEvent, type TrainHooks, type TrainProgress } from './train/trainer.js';
export { Evaluator } from './train/evaluate.js';
export { learningRate, type ScheduleConfig } from './train/schedule.js';
export { Sampler, type SampleOptions } from './sample/sampler.js';
export { readCheckpoint, decodeCheckpoint, modelFromCheckpoint, saveTrainerCheckpoint, type Checkpoint } from './checkpoint/store.js';
export { encodeSafetensors, decodeSafetensors } from './checkpoint/safetensors.js';
export { Rng } from './util/rng.js';
export * from './util/errors.js';
