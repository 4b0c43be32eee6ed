// The accuracy probes of the WebAssembly kernels' vector math, as a module of their own built
// for the tests only: test/kernels/assembly/probes.ts (which imports the kernels'
// src/kernels/wasm/assembly/vmath.ts) compiled by asc in memory, with the same optimisation
// and SIMD flags as the shipped modules (scripts/build-wasm.mjs), so the functions the tests
// call are the ones the kernels inline. Its memory is its own (not shared, not imported).
import asc from 'assemblyscript/asc';
import { fileURLToPath } from 'node:url';

export interface WasmProbes {
  /** exp, σ or tanh of every float of src, one float per call (lane 0). */
  vector(fn: 'exp' | 'sigmoid' | 'tanh', src: Float32Array): Float32Array;
  /** The kernels' table-free float64 log. */
  log(x: number): number;
}

const root = fileURLToPath(new URL('../..', import.meta.url));

export async function compileProbes(): Promise<WasmProbes> {
  let binary: Uint8Array | null = null;
  const errors: string[] = [];
  const { error } = await asc.main(
    [
      'test/kernels/assembly/probes.ts',
      '-O3', '--noAssert', '--runtime', 'stub', '--use', 'abort=',
      '--enable', 'simd', '--initialMemory', '1', '--outFile', 'probes.wasm', '--baseDir', root,
    ],
    {
      writeFile(name: string, contents: Uint8Array | string) {
        if (name.endsWith('.wasm')) binary = contents as Uint8Array;
      },
      stderr: { write: (s: string) => errors.push(String(s)), toString: () => errors.join('') } as never,
    },
  );
  if (error) throw new Error(`asc failed on the probes module: ${error.message}\n${errors.join('')}`);
  if (!binary) throw new Error('asc produced no probes module');
  const instance = new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(binary as Uint8Array)));
  const ex = instance.exports as unknown as {
    memory: WebAssembly.Memory;
    expN(n: number, src: number, dst: number): void;
    sigmoidN(n: number, src: number, dst: number): void;
    tanhN(n: number, src: number, dst: number): void;
    logProbe(x: number): number;
  };
  return {
    vector(fn, src) {
      const n = src.length;
      // src and dst in pages grown for this call, past anything the module keeps in memory
      const ps = ex.memory.buffer.byteLength;
      ex.memory.grow(Math.ceil((8 * n) / 65536));
      const pd = ps + 4 * n;
      new Float32Array(ex.memory.buffer, ps, n).set(src);
      if (fn === 'exp') ex.expN(n, ps, pd);
      else if (fn === 'sigmoid') ex.sigmoidN(n, ps, pd);
      else ex.tanhN(n, ps, pd);
      return new Float32Array(ex.memory.buffer, pd, n).slice();
    },
    log: (x) => ex.logProbe(x),
  };
}
