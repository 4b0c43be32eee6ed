import { describe, expect, it } from 'vitest';
import { ReferenceKernels } from '../../src/kernels/reference.js';
import type { Kernels } from '../../src/kernels/types.js';
import { CELL_KINDS, type CellKind } from '../../src/nn/layer.js';
import { Model } from '../../src/nn/model.js';
import { Rng } from '../../src/util/rng.js';
import { naiveForward, naiveParams } from './naive.js';

const f64 = new ReferenceKernels('f64');

function randomModel(k: Kernels, cell: CellKind, L: number, seed = 3) {
  const rng = new Rng(seed);
  const model = new Model(k, { cell, vocab: 6, embed: 3, hidden: 5, layers: L });
  model.init(rng);
  for (let i = 0; i < model.params.length; i++) model.params[i] = 0.7 * rng.normal();
  return { model, rng };
}

describe('forward pass against a naive per-element reference', () => {
  for (const cell of CELL_KINDS) {
    it(`${cell}, 2 layers, carried-in state`, () => {
      const { model, rng } = randomModel(f64, cell, 2);
      const B = 3;
      const T = 4;
      const H = 5;
      const ws = model.workspace(B, T, false);
      const ids: number[][] = [];
      for (let t = 0; t < T; t++) {
        ids.push([]);
        for (let b = 0; b < B; b++) {
          const id = rng.int(6);
          ids[t].push(id);
          ws.ids[t * B + b] = id;
        }
      }
      const h0: number[][][] = [];
      const c0: number[][][] = [];
      for (let l = 0; l < 2; l++) {
        const s = ws.state(l);
        for (let i = 0; i < s.h.length; i++) s.h[i] = 0.5 * rng.normal();
        if (s.c) for (let i = 0; i < s.c.length; i++) s.c[i] = 0.5 * rng.normal();
        h0.push(Array.from({ length: B }, (_, b) => Array.from(s.h.subarray(b * H, (b + 1) * H))));
        c0.push(Array.from({ length: B }, (_, b) => (s.c ? Array.from(s.c.subarray(b * H, (b + 1) * H)) : new Array(H).fill(0))));
      }
      ws.forward();
      const ref = naiveForward(cell, 2, H, naiveParams(model), ids, h0, c0);
      let maxErr = 0;
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          for (let v = 0; v < 6; v++) {
            maxErr = Math.max(maxErr, Math.abs(ws.logits[(t * B + b) * 6 + v] - ref.logits[t][b][v]));
          }
        }
      }
      expect(maxErr).toBeLessThan(1e-12);
      // final states, which the next window carries in
      ws.carry();
      for (let l = 0; l < 2; l++) {
        const s = ws.state(l);
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < H; j++) {
            expect(s.h[b * H + j]).toBeCloseTo(ref.h[l][b][j], 12);
            if (s.c) expect(s.c[b * H + j]).toBeCloseTo(ref.c[l][b][j], 12);
          }
        }
      }
    });
  }
});

describe('truncated BPTT carries the state exactly', () => {
  for (const cell of CELL_KINDS) {
    it(`${cell}: one window of 2T equals two windows of T`, () => {
      const { model, rng } = randomModel(f64, cell, 2, 11);
      const B = 2;
      const T = 3;
      const long = model.workspace(B, 2 * T, true);
      const short = model.workspace(B, T, true);
      for (let i = 0; i < long.ids.length; i++) {
        long.ids[i] = rng.int(6);
        long.targets[i] = rng.int(6);
      }
      long.forward();
      const logitsLong = Float64Array.from(long.logits);
      const lossLong = long.loss();
      const n = T * B;
      let lossShort = 0;
      const logitsShort: number[] = [];
      for (let w = 0; w < 2; w++) {
        short.ids.set(long.ids.subarray(w * n, (w + 1) * n));
        short.targets.set(long.targets.subarray(w * n, (w + 1) * n));
        short.forward();
        logitsShort.push(...short.logits);
        lossShort += short.loss() / 2;
        short.carry();
      }
      for (let i = 0; i < logitsLong.length; i++) expect(logitsShort[i]).toBeCloseTo(logitsLong[i], 12);
      expect(lossShort).toBeCloseTo(lossLong, 12);
    });
  }
});
