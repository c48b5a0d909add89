/** `ddtb info`: a network's size and cost (parameters, storage, MACs, BitOPs, gates) and its quantization map. */
import { Command, stringOption } from './command';
import { modelOptions, modelFromOptions } from './model_options';
import { buildNetwork, defaultModelConfig, quantGraphFor, describeModel, ModelConfig } from '../models/factory';
import { complexity } from '../models/complexity';
import { quantMapRows, summarizeQuantMap } from '../models/quant_map';
import { setDynamicLayers } from '../models/dynamic';
import { officialRecipe } from '../quant/recipe';
import { ActMethod } from '../quant/graph';
import { Prng } from '../data/prng';
import { ensureBackend } from '../backend';
import { UserError } from '../errors';
import { SrNetwork } from '../models/types';

function size(value: string | undefined): { height: number; width: number } {
  const m = /^(\d+)x(\d+)$/.exec(value ?? '');
  if (!m) throw new UserError(`--lr-size: '${value}' is not HxW (e.g. 48x48)`);
  return { height: Number(m[1]), width: Number(m[2]) };
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'size, storage, MACs/BitOPs (gates included) and the quantization map of a network',
  options: {
    ...modelOptions,
    dynamic: { type: 'string', value: 'LIST', help: 'quantizers to mark dynamic (names from the map)' },
    'lr-size': { type: 'string', value: 'HxW', help: 'LR input size for MACs and BitOPs', default: '128x128' },
    json: { type: 'boolean', help: 'print JSON ({ model, complexity, quantMap })' },
  },
  async run(options) {
    ensureBackend();
    const { height, width } = size(stringOption(options['lr-size']));
    let network: SrNetwork;
    let label: string;
    if (options.weights !== undefined) {
      const ready = await modelFromOptions(options);
      network = ready.model;
      label = ready.description;
    } else {
      const arch = stringOption(options.arch);
      if (arch !== 'edsr' && arch !== 'rdn' && arch !== 'srresnet') throw new UserError('--arch edsr|rdn|srresnet (or --weights FILE) is required');
      const base = defaultModelConfig(arch, Number(options.scale ?? 4));
      const config = { ...base, ...(options.blocks ? { blocks: Number(options.blocks) } : {}), ...(options.feats ? { feats: Number(options.feats) } : {}) } as ModelConfig;
      const bits = options.bits === undefined ? null : Number(options.bits);
      const graph = bits === null ? null : quantGraphFor(config, { bits, act: String(options.method ?? 'ddtb') as ActMethod });
      network = buildNetwork(config, graph, graph ? officialRecipe() : null, Prng.fromSeed(0));
      label = `${describeModel(config)} ${bits === null ? 'FP' : `${bits}-bit ${String(options.method ?? 'ddtb')}`}`;
    }
    try {
      if (options.dynamic !== undefined) setDynamicLayers(network, String(options.dynamic).split(',').filter(Boolean));
      const cost = complexity(network, height, width);
      const rows = quantMapRows(network);
      if (options.json) {
        console.log(JSON.stringify({ model: label, complexity: { ...cost, layers: undefined }, quantMap: rows }, null, 2));
        return 0;
      }
      console.log(`${label}, LR ${height}x${width}`);
      console.log(`parameters ${cost.parameters.toLocaleString('en-US')} (quantized ${cost.quantizedParameters.toLocaleString('en-US')}), storage ${(cost.storageBits / 8 / 1024).toFixed(1)} KiB`);
      console.log(`MACs ${(cost.macs / 1e9).toFixed(3)} G, BitOPs ${(cost.bitops / 1e9).toFixed(1)} G`);
      console.log(`gates ${cost.gates.count}: ${cost.gates.weights.toLocaleString('en-US')} 2-bit weights, ${cost.gates.bnParameters} BN parameters, ${cost.gates.macs.toLocaleString('en-US')} MACs per image`);
      if (rows.length) {
        console.log(summarizeQuantMap(rows));
        console.log('| kind | name | channels | bits | dynamic | upper | lower | input |');
        console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
        for (const r of rows) {
          const fmt = (v: number | null) => (v === null ? '' : v.toPrecision(5));
          console.log(`| ${r.kind} | ${r.name}${r.active ? '' : ' (never runs)'} | ${r.channels} | ${r.bits} | ${r.dynamic ? 'yes' : ''} | ${fmt(r.upper)} | ${fmt(r.lower)} | ${r.kind === 'conv' ? r.input ?? 'FP' : ''} |`);
        }
      }
    } finally {
      network.dispose();
    }
    return 0;
  },
};
