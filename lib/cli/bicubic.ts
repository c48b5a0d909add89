/** `ddtb bicubic`: the bicubic-upscaling baseline on benchmark sets, as a table or the result JSON. */
import { Command, intListOption, listOption, stringOption } from './command';
import { resolveDataRoot } from '../data/folders';
import { evaluateBenchmarks, bicubicUpscaler } from '../eval/benchmark';
import { formatMarkdownTable, DEFAULT_PROTOCOL } from '../metrics/result';
import { protocolFromOptions, protocolOptions } from './protocol_options';
import { Progress } from './progress';

export const bicubicCommand: Command = {
  name: 'bicubic',
  summary: 'bicubic-upscaling baseline (MATLAB-compatible) on benchmark sets: PSNR/SSIM table or --json',
  options: {
    data: { type: 'string', value: 'DIR', help: 'data root (else DDTB_DATA; relative to the repository root)' },
    sets: { type: 'string', value: 'LIST', help: 'benchmark sets', default: 'Set5,Set14,B100,Urban100' },
    scales: { type: 'string', value: 'LIST', help: 'scale factors', default: '2,3,4' },
    ...protocolOptions,
    json: { type: 'boolean', help: 'print the result type as JSON instead of a table' },
  },
  async run(options) {
    const root = resolveDataRoot(stringOption(options.data));
    const sets = listOption(options.sets, 'sets');
    const scales = intListOption(options.scales, 'scales');
    const protocol = protocolFromOptions(options, DEFAULT_PROTOCOL);
    const progress = new Progress();
    const result = await evaluateBenchmarks({
      root, sets, scales, protocol,
      onImage: (p) => progress.update(`bicubic ${p.set} x${p.scale}: ${p.index + 1}/${p.count} ${p.name}`),
    }, bicubicUpscaler);
    progress.done();
    console.log(options.json ? JSON.stringify(result, null, 2) : formatMarkdownTable(result));
    return 0;
  },
};
