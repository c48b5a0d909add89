/**
 * The recipe that turns a quantization graph's sites into quantizers, as the official code builds
 * them: DDTB quantizers (with the official 2-bit gate, or a gate of your own), DDTB without gates,
 * or PAMS; and the weight quantizer each conv site names.
 */
import { ActSite, ConvSite, QuantGraph } from './graph';
import { DdtbActQuantizer } from './ddtb_act';
import { PamsActQuantizer, PamsInit } from './pams';
import { GateFactory, officialGate } from './gate';
import { weightQuantizer } from './weight';
import { CalibrationPolicy, GateGradientMode } from './types';
import { RandomSource } from '../nn/init';
import { Prng } from '../data/prng';
import { ActQuantizerModule, QuantRecipe, WeightQuantizer } from '../models/types';

export interface RecipeOptions {
  /** The gate design of DDTB quantizers (default: the official 2-bit gate). */
  readonly gate: GateFactory;
  /** `official`: only the gate's last conv learns; `ste`: every gate parameter learns. */
  readonly gateGradient: GateGradientMode;
  /** Percentile calibration at 2 bits only (official) or at every bit width. */
  readonly calibration: CalibrationPolicy;
  /** PAMS alpha initialisation. */
  readonly pamsInit: PamsInit;
  /** Random source of the gate convs' initialisation. */
  readonly rng: RandomSource;
}

export function officialRecipe(options: Partial<RecipeOptions> = {}): QuantRecipe {
  const rng = options.rng ?? Prng.fromSeed(0);
  return {
    act(site: ActSite, graph: QuantGraph): ActQuantizerModule {
      if (graph.act === 'pams') return new PamsActQuantizer(site.name, site.channels, { bits: graph.bits, init: options.pamsInit });
      const q = new DdtbActQuantizer(site.name, site.channels, {
        bits: graph.bits,
        percentile: graph.percentile,
        calibration: options.calibration ?? 'two-bit-only',
        gate: graph.act === 'ddtb' ? options.gate ?? officialGate : null,
        gateGradient: options.gateGradient ?? 'official',
      }, rng);
      if (site.dynamic) q.isDynamic = true;
      return q;
    },
    weight(site: ConvSite, graph: QuantGraph): WeightQuantizer {
      return weightQuantizer(site.weight, graph.bits, site.name);
    },
  };
}
