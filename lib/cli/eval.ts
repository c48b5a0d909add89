/** `ddtb eval`: PSNR/SSIM of an FP or quantized network on benchmark sets (the project's result type). */
import * as path from 'path';
import { Command, intListOption, listOption, stringOption } from './command';
import { modelOptions, modelFromOptions } from './model_options';
import { protocolFromOptions, protocolOptions } from './protocol_options';
import { Progress } from './progress';
import { resolveDataRoot } from '../data/folders';
import { writePng } from '../data/image';
import { evaluateBenchmarks } from '../eval/benchmark';
import { upscaleImage } from '../eval/upscale';
import { formatMarkdownTable, DEFAULT_PROTOCOL } from '../metrics/result';
import { ensureBackend, describeBackend } from '../backend';
import { UserError } from '../errors';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate FP or quantized weights on benchmark sets: PSNR/SSIM table or --json',
  options: {
    ...modelOptions,
    data: { type: 'string', value: 'DIR', help: 'data root (else DDTB_DATA)' },
    sets: { type: 'string', value: 'LIST', help: 'benchmark sets', default: 'Set5,Set14,B100,Urban100' },
    images: { type: 'string', value: 'LIST', help: 'only these image names (e.g. butterfly)' },
    tile: { type: 'string', value: 'N', help: 'run LR tiles of N x N pixels (bounded memory; overlap = receptive field)' },
    'save-sr': { type: 'string', value: 'DIR', help: 'write each SR image as <k>bit_<name>_x<s>_SR.png' },
    ...protocolOptions,
    json: { type: 'boolean', help: 'print the result type as JSON' },
  },
  async run(options) {
    ensureBackend();
    const root = resolveDataRoot(stringOption(options.data));
    const sets = listOption(options.sets, 'sets');
    const images = options.images === undefined ? undefined : listOption(options.images, 'images');
    const tile = options.tile === undefined ? 0 : Number(options.tile);
    if (!Number.isInteger(tile) || tile < 0) throw new UserError(`--tile: '${String(options.tile)}' is not a non-negative integer`);
    const saveDir = stringOption(options['save-sr']);
    const protocol = protocolFromOptions(options, DEFAULT_PROTOCOL);
    const ready = await modelFromOptions(options);
    const progress = new Progress();
    console.error(`ddtb eval: ${ready.description} on ${describeBackend()}`);
    try {
      const result = await evaluateBenchmarks({
        root, sets, scales: [ready.model.scale], protocol, images,
        onImage: (p) => progress.update(`eval ${p.set}: ${p.index + 1}/${p.count} ${p.name} ${p.psnr?.toFixed(2) ?? 'inf'} dB`),
      }, async (pair, scale) => {
        const sr = upscaleImage(ready.model, pair.lr, { tile });
        if (saveDir) await writePng(path.join(saveDir, `${ready.bits ?? 32}bit_${pair.name}_x${scale}_SR.png`), sr);
        return sr;
      });
      progress.done();
      console.log(options.json ? JSON.stringify(result, null, 2) : formatMarkdownTable(result));
    } finally {
      ready.model.dispose();
    }
    return 0;
  },
};
