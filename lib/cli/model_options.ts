/**
 * Architecture and quantization options shared by `eval`, `sr` (and later `train`), and the one
 * function that turns them plus a weights file into a ready network.
 */
import { OptionSpec, OptionValues, intOption, stringOption } from './command';
import { UserError } from '../errors';
import { Architecture, SrNetwork } from '../models/types';
import { ModelConfig, buildNetwork, defaultModelConfig, quantGraphFor, describeModel } from '../models/factory';
import { inferModelConfig } from '../models/infer';
import { readWeights, loadWeights, WeightsUse } from '../models/weights';
import { ActMethod } from '../quant/graph';
import { Prng } from '../data/prng';
import { officialRecipe, RecipeOptions } from '../quant/recipe';
import { describeCheckpoint } from '../models/checkpoint';
import { syncDynamicFromFlags } from '../models/dynamic';

export const modelOptions: Record<string, OptionSpec> = {
  arch: { type: 'string', value: 'edsr|rdn|srresnet', help: 'architecture (read from the weights when omitted)' },
  blocks: { type: 'string', value: 'N', help: 'residual blocks' },
  feats: { type: 'string', value: 'N', help: 'feature channels' },
  scale: { type: 'string', value: 'N', help: 'upscaling factor' },
  weights: { type: 'string', value: 'FILE', help: 'weights: PyTorch .pt/.pth/.pth.tar or our .safetensors' },
  bits: { type: 'string', value: 'K', help: 'quantize activations and conv weights to K bits (omit for full precision)' },
  method: { type: 'string', value: 'ddtb|ddtb-nogate|pams', help: 'activation quantizer with --bits', default: 'ddtb' },
};

function archOption(value: unknown): Architecture | undefined {
  if (value === undefined) return undefined;
  if (value === 'edsr' || value === 'rdn' || value === 'srresnet') return value;
  throw new UserError(`--arch: '${String(value)}' is not one of edsr, rdn, srresnet`);
}

export interface ReadyModel {
  readonly model: SrNetwork;
  readonly config: ModelConfig;
  readonly bits: number | null;
  readonly use: WeightsUse;
  readonly description: string;
}

/** Builds the network the options describe and loads `--weights` into it (eval mode). */
export async function modelFromOptions(options: OptionValues, recipeOptions: Partial<RecipeOptions> = {}): Promise<ReadyModel> {
  const file = stringOption(options.weights);
  if (!file) throw new UserError('--weights FILE is required');
  const weights = await readWeights(file);
  for (const note of weights.notes) console.error(`ddtb: ${file}: ${note}`);
  const own = describeCheckpoint(weights.metadata, file);
  let config: ModelConfig;
  let graph;
  let bits: number | null;
  let method: string;
  if (own) {
    // Our checkpoints describe themselves; flags may only repeat what they say.
    config = own.model;
    graph = own.graph;
    bits = graph ? graph.bits : null;
    method = graph ? graph.act : 'fp';
    const said: Array<[string, unknown, unknown]> = [['arch', options.arch, config.arch], ['blocks', options.blocks, config.blocks],
      ['feats', options.feats, 'feats' in config ? config.feats : undefined], ['scale', options.scale, config.scale], ['bits', options.bits, bits ?? undefined]];
    for (const [option, given, stored] of said) {
      if (given !== undefined && String(given) !== String(stored)) throw new UserError(`--${option} ${String(given)} contradicts ${file}, which holds ${option} ${String(stored)}`);
    }
  } else {
    const inferred = inferModelConfig(weights.stateDict);
    const arch = archOption(options.arch) ?? inferred?.arch;
    if (!arch) throw new UserError(`${file}: cannot tell the architecture from its keys; give --arch, --blocks, --feats and --scale`);
    const base: ModelConfig = inferred && inferred.arch === arch ? inferred : defaultModelConfig(arch, 4);
    const blocks = intOption(options.blocks, 'blocks');
    const feats = intOption(options.feats, 'feats');
    const scale = intOption(options.scale, 'scale');
    config = {
      ...base,
      ...(blocks !== undefined ? { blocks } : {}),
      ...(feats !== undefined ? { feats } : {}),
      ...(scale !== undefined ? { scale } : {}),
    } as ModelConfig;
    bits = intOption(options.bits, 'bits') ?? null;
    method = String(options.method ?? 'ddtb');
    if (!['ddtb', 'ddtb-nogate', 'pams'].includes(method)) throw new UserError(`--method: '${method}' is not one of ddtb, ddtb-nogate, pams`);
    graph = bits === null ? null : quantGraphFor(config, { bits, act: method as ActMethod });
  }
  const rng = Prng.fromSeed(0);
  const model = buildNetwork(config, graph, graph ? officialRecipe({ ...recipeOptions }) : null, rng);
  try {
    const use = own ? (model.loadStateDict(weights.stateDict, { source: file }), syncDynamicFromFlags(model), 'full' as const) : loadWeights(model, weights);
    model.eval();
    const description = `${describeModel(config)} ${bits === null ? 'FP' : `${bits}-bit ${method}`} (${file})`;
    return { model, config, bits, use, description };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
