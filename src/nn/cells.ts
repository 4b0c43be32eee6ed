// The forward/backward pair of each cell kind (equations in rnn.ts, gru.ts, lstm.ts).
import type { Kernels } from '../kernels/types.js';
import { gruBackward, gruForward } from './gru.js';
import type { CellKind, LayerCache, LayerWeights } from './layer.js';
import { lstmBackward, lstmForward } from './lstm.js';
import { rnnBackward, rnnForward } from './rnn.js';

export type LayerFn = (k: Kernels, w: LayerWeights, c: LayerCache) => void;
export type LayerBackFn = (k: Kernels, w: LayerWeights, dw: LayerWeights, c: LayerCache) => void;

export const CELLS: Record<CellKind, { forward: LayerFn; backward: LayerBackFn }> = {
  'rnn': { forward: rnnForward, backward: rnnBackward },
  'rnn-relu': { forward: rnnForward, backward: rnnBackward },
  'gru': { forward: gruForward, backward: gruBackward },
  'gru-min': { forward: gruForward, backward: gruBackward },
  'gru-torch': { forward: gruForward, backward: gruBackward },
  'lstm': { forward: lstmForward, backward: lstmBackward },
  'lstm-peep': { forward: lstmForward, backward: lstmBackward },
};
