// bin/rnn.js: starts the CLI (bin/rnn-cli.js, built from ./main.ts) from V8's code cache
// when it fits this Node, from source otherwise (./code-cache.ts). CommonJS, like the
// bundle, so that Node's ES module loader is never started.
import { compileCli } from './code-cache.js';

compileCli(__dirname).run();
