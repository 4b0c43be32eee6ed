// `rnn eval DATA --condition` (or any conditioned checkpoint): the loss of a conditioned
// model on held-out labelled text, per tag, with the true tag and untagged, so a user sees
// how much the tag helps. TSV on stdout (a header line, one line per tag, then "all"), or
// one JSON object with --json.
import type { TaskCheckpoint } from '../checkpoint/store.js';
import type { Model } from '../nn/model.js';
import { readHeldOut, scoreTaggedStream } from '../tasks/cond.js';
import { RnnError } from '../util/errors.js';
import { DataOut, nameChars, plural, readStdin, usingModel } from './common.js';

export async function runCondEval(file: string, ckpt: TaskCheckpoint<'cond'>, model: Model, json: boolean): Promise<number> {
  const input = file === '-' ? { path: '-', stdin: await readStdin('the labelled text', 'pipe tag<TAB>text lines in or give a file or folder') } : { path: file };
  const { stream, unknownTags, unknownChars } = await readHeldOut(input, ckpt.meta);
  if (unknownTags.size > 0) {
    const docs = [...unknownTags.values()].reduce((a, b) => a + b, 0);
    process.stderr.write(`rnn: warning: ${plural(docs, 'document')} with tags the model does not know left out: ${[...unknownTags.keys()].slice(0, 10).map((t) => JSON.stringify(t)).join(', ')}\n`);
  }
  if (unknownChars.size > 0) {
    const count = [...unknownChars.values()].reduce((a, b) => a + b, 0);
    process.stderr.write(`rnn: warning: ${plural(count, 'character')} not in the vocabulary left out: ${nameChars(unknownChars.keys())}\n`);
  }
  if (stream.ids.length < 2) throw new RnnError(`${file === '-' ? 'stdin' : file}: no text of a tag the model knows; give held-out data with the tags of rnn sample --list-tags`);
  const r = await usingModel(ckpt.file, async () => scoreTaggedStream(model, stream));
  const tags = ckpt.meta.tags;
  const out = new DataOut();
  if (json) {
    await out.write(`${JSON.stringify({
      nats: r.tagged.nats, bpc: r.tagged.nats / Math.LN2, untagged: r.untagged.nats, gain: r.untagged.nats - r.tagged.nats, chars: r.tagged.chars,
      tags: Object.fromEntries(tags.map((t, i) => [t, { chars: r.perTag[i].chars, nats: r.perTag[i].chars ? r.perTag[i].tagged : null, untagged: r.perTag[i].chars ? r.perTag[i].untagged : null }])),
      checkpoint: ckpt.file,
    })}\n`);
  } else {
    const f = (x: number) => x.toFixed(4);
    let text = 'tag\tchars\tnats\tuntagged\tgain\n';
    tags.forEach((t, i) => {
      const b = r.perTag[i];
      if (b.chars > 0) text += `${t}\t${b.chars}\t${f(b.tagged)}\t${f(b.untagged)}\t${f(b.untagged - b.tagged)}\n`;
    });
    text += `all\t${r.tagged.chars}\t${f(r.tagged.nats)}\t${f(r.untagged.nats)}\t${f(r.untagged.nats - r.tagged.nats)}\n`;
    await out.write(text);
  }
  await out.end();
  return 0;
}
