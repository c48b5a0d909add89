/**
 * `ddtb demo` (npm run demo). By default the bicubic-upscaling baseline table on the configured data
 * (Set5, Set14, B100, Urban100 at x2, x3, x4), the numbers every SR table is read against.
 * `--experiment` runs the quick 2-bit EDSR x4 experiment with DDTB and PAMS (seed 1) and prints its
 * report; it becomes the default once the training pipeline's acceptance (issue 5) is shown.
 */
import * as path from 'path';
import { Command } from './command';
import { experimentCommand } from './experiment';
import { bicubicCommand } from './bicubic';
import { outDir } from '../paths';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the bicubic baseline table on the configured data, or (--experiment) the quick 2-bit DDTB vs PAMS experiment',
  options: {
    data: { type: 'string', value: 'DIR', help: 'data root (else DDTB_DATA)' },
    experiment: { type: 'boolean', help: 'run the quick 2-bit EDSR x4 experiment (DDTB, PAMS; tens of minutes here)' },
    out: { type: 'string', value: 'DIR', help: 'experiment folder (with --experiment)', default: path.join('out', 'demo') },
  },
  async run(options) {
    const data = typeof options.data === 'string' ? { data: options.data } : {};
    if (!options.experiment) {
      return bicubicCommand.run({ sets: 'Set5,Set14,B100,Urban100', scales: '2,3,4', ...data }, [], []);
    }
    return experimentCommand.run({
      preset: 'quick', methods: 'ddtb,pams', seeds: '1', bits: '2',
      out: typeof options.out === 'string' ? options.out : path.join(outDir, 'demo'), ...data,
    }, [], []);
  },
};
