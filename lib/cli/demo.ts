/** `ddtb demo` (npm run demo): the quick 2-bit EDSR x4 experiment with DDTB and PAMS, and its report. */
import * as path from 'path';
import { Command } from './command';
import { experimentCommand } from './experiment';
import { outDir } from '../paths';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the quick 2-bit EDSR x4 experiment (DDTB and PAMS, seed 1) on the configured data; prints the report',
  options: {
    data: { type: 'string', value: 'DIR', help: 'data root (else DDTB_DATA)' },
    out: { type: 'string', value: 'DIR', help: 'experiment folder', default: path.join('out', 'demo') },
  },
  async run(options) {
    return experimentCommand.run({
      preset: 'quick', methods: 'ddtb,pams', seeds: '1', bits: '2',
      out: typeof options.out === 'string' ? options.out : path.join(outDir, 'demo'),
      ...(typeof options.data === 'string' ? { data: options.data } : {}),
    }, [], []);
  },
};
