// Node built-in modules that a command may not need, loaded on first use. An ESM `import`
// of a built-in loads it at start-up, and builds a namespace of all its exports: for
// node:crypto that alone is about 5 ms of `rnn sample`'s cold start, more than a whole
// `require` of it (0.5 ms). What is imported here is loaded only by the code that calls it.
// node:fs/promises is used as `promises` of node:fs (`import { promises as fsp } from
// 'node:fs'`), whose getter loads it on first use: in the CLI bundle that keeps it (and the
// readline and fs-watcher modules it pulls in, about 1.3 ms) out of a command that does
// not touch it.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export function nodeCrypto(): typeof import('node:crypto') {
  return load('node:crypto') as typeof import('node:crypto');
}

export function nodeZlib(): typeof import('node:zlib') {
  return load('node:zlib') as typeof import('node:zlib');
}

export function nodeV8(): typeof import('node:v8') {
  return load('node:v8') as typeof import('node:v8');
}

export function nodeWorkerThreads(): typeof import('node:worker_threads') {
  return load('node:worker_threads') as typeof import('node:worker_threads');
}
