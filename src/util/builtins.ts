// Node built-in modules that a command may not need, loaded on first use. An ESM `import`
// of a built-in loads it at start-up, and builds a namespace of all its exports: for
// node:crypto that alone is about 5 ms of `rnn sample`'s cold start, more than a whole
// `require` of it (0.5 ms). What is imported here is loaded only by the code that calls it.
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
