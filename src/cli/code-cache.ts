// How bin/rnn.js starts the CLI: from V8's code cache.
//
// The CLI is one CommonJS bundle, bin/rnn-cli.js (scripts/build.mjs). Compiling it is most
// of what a short command does after Node's own start: parsing the source and building the
// bytecode of every function that runs (commander, the command, the checkpoint reader, the
// kernels' wrappers). The build runs the CLI once (`rnn sample` on a tiny checkpoint) and
// stores V8's code cache of everything that run compiled in bin/rnn-cli.cache; every later
// start hands it to V8 instead of compiling.
//
//   bin/rnn-cli.js      "// rnn-cli build <id>\n" + the bundle (the id is new at every build)
//   bin/rnn-cli.cache   the same first line + V8's cached data
//
// A cache is used only when its first line is the bundle's, so a rebuilt bundle never meets
// the bytecode of the previous one (V8 itself checks the source's length, not its text).
// V8 then accepts it only from its own version with the same V8 flags; otherwise (another
// Node, a V8 flag in NODE_OPTIONS) it rejects it and compiles as usual: the same program,
// only slower. Node 22 has module.enableCompileCache() for this; Node 20 has vm.Script's
// cachedData, used here.
//
// The bundle runs as Node runs a CommonJS module, wrapped in a function of exports, require,
// module, __filename and __dirname. The wrapper is part of the source V8 checks, so the
// build's run and every start compile through compileCli().
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

export const CLI_BUNDLE = 'rnn-cli.js';
export const CLI_CACHE = 'rnn-cli.cache';

export interface CompiledCli {
  script: Script;
  /** The bundle's first line ("// rnn-cli build <id>\n"), the key of its cache. */
  key: string;
  /** undefined: no cache of this bundle was there; true: V8 refused it (compiled from source); false: used. */
  rejected: boolean | undefined;
  /** Runs the CLI (its main() reads process.argv). */
  run(): void;
}

/** Compiles bin/rnn-cli.js in `dir`, from its code cache unless `useCache` is false or there is none for it. */
export function compileCli(dir: string, useCache = true): CompiledCli {
  const file = join(dir, CLI_BUNDLE);
  // the build writes the bundle in ASCII (esbuild escapes every other character), so it is
  // read as latin1: the same string, without a UTF-8 decode of half a megabyte (~0.6 ms)
  const source = readFileSync(file, 'latin1');
  const key = source.slice(0, source.indexOf('\n') + 1);
  let cachedData: Buffer | undefined;
  if (useCache && key.startsWith('// rnn-cli build ')) {
    try {
      const cache = readFileSync(join(dir, CLI_CACHE));
      if (cache.length > key.length && cache.toString('latin1', 0, key.length) === key) cachedData = cache.subarray(key.length);
    } catch {
      // no cache: compile from source
    }
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  return {
    script,
    key,
    rejected: cachedData ? script.cachedDataRejected : undefined,
    run() {
      const module = { exports: {} };
      const start = script.runInThisContext() as (...args: unknown[]) => void;
      start.call(module.exports, module.exports, createRequire(file), module, file, dir);
    },
  };
}

/**
 * For the build: runs the CLI in `dir` from source as `rnn ARGS…` and, when the process
 * exits, writes the code cache of everything it compiled (keyed by the bundle's first line).
 */
export function writeCodeCache(dir: string, args: string[]): void {
  const cli = compileCli(dir, false);
  process.argv = [process.argv[0]!, join(dir, 'rnn.js'), ...args];
  process.on('exit', () => {
    writeFileSync(join(dir, CLI_CACHE), Buffer.concat([Buffer.from(cli.key, 'latin1'), cli.script.createCachedData()]));
  });
  cli.run();
}
