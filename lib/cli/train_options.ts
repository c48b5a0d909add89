/**
 * From command-line options to a resolved, frozen TrainConfig: preset -> --config FILE (JSON
 * overrides) -> shortcut flags (--arch, --bits, --method, ...) -> dotted overrides (--quant.bits=3).
 * Unknown keys are named by path, wrong types are named errors (lib/config/resolve.ts).
 */
import * as fs from 'fs';
import { OptionSpec, OptionValues, intOption, stringOption } from './command';
import { UserError } from '../errors';
import { PRESETS, PresetName } from '../presets';
import { METHODS, TrainConfig, isMethodName, resolveTrainConfig, trainConfigSchema } from '../train/config';
import { parseDottedOptions } from '../config/resolve';
import { defaultModelConfig } from '../models/factory';

export const trainOptions: Record<string, OptionSpec> = {
  preset: { type: 'string', value: 'quick|paper', help: 'the recipe to start from', default: 'quick' },
  config: { type: 'string', value: 'FILE', help: 'JSON overrides of the preset (unknown keys are errors)' },
  method: { type: 'string', value: 'NAME', help: `method: ${Object.keys(METHODS).join(', ')}`, default: 'ddtb' },
  arch: { type: 'string', value: 'edsr|rdn|srresnet', help: 'architecture (its standard size unless --blocks)' },
  blocks: { type: 'string', value: 'N', help: 'residual blocks' },
  scale: { type: 'string', value: 'N', help: 'upscaling factor' },
  bits: { type: 'string', value: 'K', help: 'activation and weight bits' },
  teacher: { type: 'string', value: 'FILE', help: 'FP weights: teacher and initialisation' },
  seed: { type: 'string', value: 'N', help: 'random seed (patches, augmentation, random selection)' },
  'select-on': { type: 'string', value: 'validation|Set14', help: "model selection on the validation split (default) or on Set14 (the official code's choice)" },
  data: { type: 'string', value: 'DIR', help: 'data root (else DDTB_DATA)' },
};

export const dottedHelp = 'Any config field can be set as --<path>=<value>, e.g. --schedule.epochs=8 --data.batchSize=8.';

/** The preset named by --preset. */
export function presetFromOptions(options: OptionValues): TrainConfig {
  const name = String(options.preset ?? 'quick');
  if (!(name in PRESETS)) throw new UserError(`--preset: '${name}' is not one of ${Object.keys(PRESETS).join(', ')}`);
  return PRESETS[name as PresetName];
}

/** The resolved config for one method (the experiment calls this per method). */
export function trainConfigFromOptions(options: OptionValues, dotted: readonly string[], method?: string): TrainConfig {
  let config = presetFromOptions(options);
  const file = stringOption(options.config);
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UserError(`--config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `not valid JSON: ${(e as Error).message}`}`);
    }
    config = resolveTrainConfig(config, json, file);
  }
  const methodName = method ?? String(options.method ?? 'ddtb');
  if (!isMethodName(methodName)) throw new UserError(`--method: '${methodName}' is not one of ${Object.keys(METHODS).join(', ')}`);
  const shortcuts: Record<string, unknown> = { ...METHODS[methodName], quant: { ...METHODS[methodName].quant } };
  const arch = stringOption(options.arch);
  if (arch !== undefined) {
    if (arch !== 'edsr' && arch !== 'rdn' && arch !== 'srresnet') throw new UserError(`--arch: '${arch}' is not one of edsr, rdn, srresnet`);
    if (arch !== config.model.arch) {
      // Another architecture: its standard model (replacing the whole model entry) and its ratio.
      config = { ...config, model: defaultModelConfig(arch, config.model.scale) };
      (shortcuts.quant as Record<string, unknown>).dynamicRatio ??= { edsr: 0.3, rdn: 0.5, srresnet: 0.1 }[arch];
      if (methodName === 'ddtb-nogate' || methodName === 'pams') (shortcuts.quant as Record<string, unknown>).dynamicRatio = 0;
    }
  }
  const model: Record<string, unknown> = {};
  const blocks = intOption(options.blocks, 'blocks', 0);
  const scale = intOption(options.scale, 'scale', 0);
  if (blocks !== undefined) model.blocks = blocks;
  if (scale !== undefined) model.scale = scale;
  if (Object.keys(model).length) shortcuts.model = model;
  const bits = intOption(options.bits, 'bits', 0);
  if (bits !== undefined) (shortcuts.quant as Record<string, unknown>).bits = bits;
  const teacher = stringOption(options.teacher);
  if (teacher !== undefined) shortcuts.teacher = teacher;
  const seed = intOption(options.seed, 'seed', 0);
  if (seed !== undefined) shortcuts.run = { ...config.run, seed };
  const selectOn = stringOption(options['select-on']);
  if (selectOn !== undefined) shortcuts.data = { selectOn };
  config = resolveTrainConfig(config, shortcuts, 'command line');
  if (dotted.length) {
    const { overrides, rest } = parseDottedOptions(dotted, config, trainConfigSchema);
    if (rest.length) throw new UserError(`unexpected argument '${rest[0]}'`);
    config = resolveTrainConfig(config, overrides, 'command line');
  }
  return config;
}
