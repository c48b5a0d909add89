/**
 * `ddtb demo` (npm run demo): the quick 2-bit EDSR x4 experiment with DDTB and PAMS (seeds 1 and 2,
 * the shared 8-block weights fine-tuned on T91) and its report. It shares its folder with notebook
 * 04 and the acceptance command, so whichever runs first trains (about 20 minutes per seed
 * on 2 cores) and the others reuse the finished runs. `--bicubic` prints the bicubic-upscaling
 * baseline table instead (Set5, Set14, B100, Urban100 at x2, x3, x4), in seconds.
 */
import * as path from 'path';
import { Command } from './command';
import { experimentCommand } from './experiment';
import { bicubicCommand } from './bicubic';

/** The experiment folder notebook 04 (quick budget) reads. */
export const QUICK_EXPERIMENT_DIR = path.join('out', 'experiments', 'quick-edsr8-x4-w2a2');

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the quick 2-bit DDTB vs PAMS experiment (EDSR x4) and its report, or (--bicubic) the bicubic baseline table',
  options: {
    data: { type: 'string', value: 'DIR', help: 'data root (else DDTB_DATA)' },
    seeds: { type: 'string', value: 'LIST', help: 'seeds of the experiment', default: '1,2' },
    bicubic: { type: 'boolean', help: 'print the bicubic baseline table instead (seconds)' },
    out: { type: 'string', value: 'DIR', help: 'experiment folder (finished runs there are reused)', default: QUICK_EXPERIMENT_DIR },
  },
  async run(options) {
    const data = typeof options.data === 'string' ? { data: options.data } : {};
    if (options.bicubic) {
      return bicubicCommand.run({ sets: 'Set5,Set14,B100,Urban100', scales: '2,3,4', ...data }, [], []);
    }
    return experimentCommand.run({
      preset: 'quick', methods: 'ddtb,pams', seeds: String(options.seeds ?? '1,2'), bits: '2',
      out: typeof options.out === 'string' ? options.out : QUICK_EXPERIMENT_DIR, ...data,
    }, [], []);
  },
};
