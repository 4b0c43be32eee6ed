// The command line of a benchmark script: --help (or -h) prints the usage (the script's
// leading comment) and exits 0; an unknown option, or one missing its value, is one line on
// stderr and exit 2, so a misspelt option never starts a long default benchmark without it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Checks `argv` against the options a script takes: `valued` take a value, `flags` do not. */
export function checkOptions(name, scriptUrl, argv, valued, flags) {
  if (argv.includes('--help') || argv.includes('-h')) {
    const lines = readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n');
    const start = lines[0].startsWith('#!') ? 1 : 0;
    const end = lines.findIndex((l, i) => i >= start && !l.startsWith('//'));
    process.stdout.write(lines.slice(start, end).map((l) => l.slice(3)).join('\n') + '\n');
    process.exit(0);
  }
  for (let i = 0; i < argv.length; i++) {
    const option = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    if (option !== null && valued.includes(option)) {
      if (i + 1 >= argv.length) {
        process.stderr.write(`${name}: ${argv[i]} needs a value (--help lists them)\n`);
        process.exit(2);
      }
      i++;
    } else if (option === null || !flags.includes(option)) {
      process.stderr.write(`${name}: unknown option ${argv[i]} (--help lists them)\n`);
      process.exit(2);
    }
  }
}
