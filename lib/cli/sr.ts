/** `ddtb sr`: upscale your own images with any FP or quantized checkpoint. */
import * as fs from 'fs';
import * as path from 'path';
import { Command, stringOption } from './command';
import { modelOptions, modelFromOptions } from './model_options';
import { readImage, writePng, isImageFile } from '../data/image';
import { upscaleImage } from '../eval/upscale';
import { ensureBackend } from '../backend';
import { UserError } from '../errors';
import { Progress } from './progress';

function inputFiles(input: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch {
    throw new UserError(`--input ${input}: not found`);
  }
  if (stat.isFile()) return [input];
  const files = fs.readdirSync(input).filter((f) => isImageFile(f) && !f.startsWith('.')).sort().map((f) => path.join(input, f));
  if (files.length === 0) throw new UserError(`--input ${input}: no PNG, JPEG or BMP images in this folder`);
  return files;
}

export const srCommand: Command = {
  name: 'sr',
  summary: 'upscale your own images (a file or a folder) with FP or quantized weights',
  options: {
    ...modelOptions,
    input: { type: 'string', value: 'FILE|DIR', help: 'an image, or a folder of images' },
    out: { type: 'string', value: 'DIR', help: 'where to write <name>_x<s>_SR.png' },
    tile: { type: 'string', value: 'N', help: 'run LR tiles of N x N pixels (bounded memory)' },
  },
  async run(options) {
    ensureBackend();
    const input = stringOption(options.input);
    const out = stringOption(options.out);
    if (!input) throw new UserError('--input FILE|DIR is required');
    if (!out) throw new UserError('--out DIR is required');
    const files = inputFiles(input);
    const tile = options.tile === undefined ? 0 : Number(options.tile);
    if (!Number.isInteger(tile) || tile < 0) throw new UserError(`--tile: '${String(options.tile)}' is not a non-negative integer`);
    const ready = await modelFromOptions(options);
    const progress = new Progress();
    try {
      for (let i = 0; i < files.length; i++) {
        const lr = await readImage(files[i]);
        const sr = upscaleImage(ready.model, lr, { tile });
        const target = path.join(out, `${path.parse(files[i]).name}_x${ready.model.scale}_SR.png`);
        await writePng(target, sr);
        progress.update(`sr ${i + 1}/${files.length} ${target}`, true);
      }
    } finally {
      ready.model.dispose();
    }
    progress.done(`ddtb sr: ${files.length} image(s) written to ${out} (${ready.description})`);
    return 0;
  },
};
