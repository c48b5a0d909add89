/**
 * The quantization map of a quantized model: one row per activation quantizer and per quantized
 * conv, in forward order, with the current bounds. Printable with console.table in a notebook and
 * as JSON.
 */
import { SrNetwork } from './types';

export interface QuantMapRow {
  readonly kind: 'act' | 'conv';
  readonly name: string;
  /** Input channels (of the quantizer, or of the conv). */
  readonly channels: number;
  readonly bits: number;
  /** Whether the quantizer's gate sets per-sample bounds (convs: false). */
  readonly dynamic: boolean;
  /** False for a quantizer that never runs (RDN's convs.0.act). */
  readonly active: boolean;
  /** Activation quantizers: the current static bounds. */
  readonly upper: number | null;
  readonly lower: number | null;
  /** Convs: the weight quantizer, and the quantizer feeding its input (null: full precision). */
  readonly weight: string | null;
  readonly input: string | null;
}

export function quantMapRows(model: SrNetwork): QuantMapRow[] {
  if (!model.quant) return [];
  const { graph, acts } = model.quant;
  const actByName = new Map(graph.acts.map((a) => [a.name, a]));
  const convByName = new Map(graph.convs.map((c) => [c.name, c]));
  return graph.order.map((entry): QuantMapRow => {
    const [kind, name] = [entry.slice(0, entry.indexOf(':')), entry.slice(entry.indexOf(':') + 1)];
    if (kind === 'act') {
      const a = actByName.get(name)!;
      const b = acts.get(name)!.bounds();
      return { kind: 'act', name, channels: a.channels, bits: graph.bits, dynamic: a.dynamic, active: a.active,
        upper: b.upper, lower: b.lower, weight: null, input: null };
    }
    const c = convByName.get(name)!;
    return { kind: 'conv', name, channels: c.inChannels, bits: graph.bits, dynamic: false, active: true,
      upper: null, lower: null, weight: c.weight, input: c.input };
  });
}

/** A short summary line, e.g. "48 activation quantizers (48 active, 14 dynamic), 32 quantized convs". */
export function summarizeQuantMap(rows: readonly QuantMapRow[]): string {
  const acts = rows.filter((r) => r.kind === 'act');
  const active = acts.filter((r) => r.active).length;
  const dynamic = acts.filter((r) => r.dynamic).length;
  const convs = rows.length - acts.length;
  return `${acts.length} activation quantizers (${active} active, ${dynamic} dynamic), ${convs} quantized convs`;
}
