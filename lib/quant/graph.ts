/**
 * The quantization graph: a plain, serialisable description of every quantization site of a model,
 * in forward order. Models are built from it (which quantizer sits where, how many bits, which layers
 * are dynamic); checkpoints store it; `console.table(quantMapRows(model))` prints it.
 *
 * An FP model has no graph (`null`). Selection of dynamic layers is a pure function returning a new
 * graph (`withDynamic`); `applyDynamicFlags` then sets the flags on a built model.
 */

/** How activations are quantized: DDTB (dual trainable bounds, optional gates), DDTB without gates, PAMS. */
export type ActMethod = 'ddtb' | 'ddtb-nogate' | 'pams';
/** Weight quantizers of spec 5: percentile-clipped asymmetric, min/max asymmetric, symmetric max-abs. */
export type WeightMethod = 'asym99' | 'asym' | 'sym';

export interface ActSite {
  /** Official module path, e.g. `body.3.quant_act2`. */
  readonly name: string;
  /** Channels of the quantizer's input (the gate's C). */
  readonly channels: number;
  /** Whether this quantizer's gate sets per-sample bounds (DDTB's `is_dynamic`). */
  readonly dynamic: boolean;
  /** False for a quantizer that exists (and is saved) but never runs (RDN's `convs.0.act`). */
  readonly active: boolean;
}

export interface ConvSite {
  /** Official module path of the conv, e.g. `body.3.body.0`. */
  readonly name: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly bias: boolean;
  readonly weight: WeightMethod;
  /** The activation quantizer feeding this conv, or null when its input is full precision. */
  readonly input: string | null;
}

export interface QuantGraph {
  /** Bit width of activations and of the quantized conv weights. */
  readonly bits: number;
  readonly act: ActMethod;
  /** Calibration percentile M (upper bound P_M, lower bound P_(100-M)). */
  readonly percentile: number;
  /** Activation quantizers in forward order. */
  readonly acts: readonly ActSite[];
  /** Quantized convs in forward order. */
  readonly convs: readonly ConvSite[];
  /**
   * Sites in forward order, interleaved, as names: `act:<name>` or `conv:<name>`.
   * The quantization map is printed in this order.
   */
  readonly order: readonly string[];
}

/** Collects sites in forward order while a model description is walked. */
export class GraphBuilder {
  private readonly acts: ActSite[] = [];
  private readonly convs: ConvSite[] = [];
  private readonly order: string[] = [];

  constructor(private readonly spec: { bits: number; act: ActMethod; percentile: number }) {}

  act(name: string, channels: number, opts: { active?: boolean } = {}): string {
    this.acts.push({ name, channels, dynamic: false, active: opts.active ?? true });
    this.order.push(`act:${name}`);
    return name;
  }

  conv(site: ConvSite): void {
    this.convs.push(site);
    this.order.push(`conv:${site.name}`);
  }

  build(): QuantGraph {
    return freezeGraph({ ...this.spec, acts: this.acts, convs: this.convs, order: this.order });
  }
}

function freezeGraph(g: QuantGraph): QuantGraph {
  return Object.freeze({
    ...g,
    acts: Object.freeze(g.acts.map((a) => Object.freeze({ ...a }))),
    convs: Object.freeze(g.convs.map((c) => Object.freeze({ ...c }))),
    order: Object.freeze([...g.order]),
  });
}

/** A new graph in which exactly the named quantizers are dynamic. Unknown names are an error. */
export function withDynamic(graph: QuantGraph, dynamicNames: Iterable<string>): QuantGraph {
  const names = new Set(dynamicNames);
  for (const n of names) {
    const site = graph.acts.find((a) => a.name === n);
    if (!site) throw new Error(`withDynamic: no activation quantizer named '${n}'`);
    if (!site.active) throw new Error(`withDynamic: quantizer '${n}' never runs and cannot be dynamic`);
  }
  if (names.size > 0 && graph.act !== 'ddtb') {
    throw new Error(`withDynamic: '${graph.act}' quantizers have no gate, so no layer can be dynamic`);
  }
  return freezeGraph({ ...graph, acts: graph.acts.map((a) => ({ ...a, dynamic: names.has(a.name) })) });
}

/** Quantizers that run (RDN keeps one idle quantizer per block). */
export function activeActs(graph: QuantGraph): ActSite[] {
  return graph.acts.filter((a) => a.active);
}
