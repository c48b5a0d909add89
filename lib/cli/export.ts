/** `ddtb export`: write a checkpoint's state dict as a PyTorch `.pt` file under the official names. */
import { Command, stringOption } from './command';
import { modelOptions, modelFromOptions } from './model_options';
import { exportOfficial } from '../models/checkpoint';
import { ensureBackend } from '../backend';
import { UserError } from '../errors';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write weights as a PyTorch .pt state dict under the official names (torch.load reads it)',
  options: {
    ...modelOptions,
    out: { type: 'string', value: 'FILE', help: 'the .pt file to write' },
  },
  async run(options) {
    ensureBackend();
    const out = stringOption(options.out);
    if (!out) throw new UserError('--out FILE is required');
    const ready = await modelFromOptions(options);
    try {
      await exportOfficial(out, ready.model);
    } finally {
      ready.model.dispose();
    }
    console.error(`ddtb export: ${ready.description} -> ${out}`);
    return 0;
  },
};
