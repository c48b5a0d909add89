/**
 * Which quantizers of a built network are dynamic. The graph is the record; the quantizers'
 * `is_dynamic` buffers are what runs (and what checkpoints store). These keep the two in step.
 */
import { withDynamic } from '../quant/graph';
import { UserError } from '../errors';
import { SrNetwork } from './types';

interface Flagged { isDynamic: boolean }

function hasFlag(q: unknown): q is Flagged {
  return typeof q === 'object' && q !== null && 'isDynamic' in q;
}

/** Makes exactly `names` dynamic: a new graph (withDynamic) and the quantizers' flags. */
export function setDynamicLayers(model: SrNetwork, names: Iterable<string>): void {
  if (!model.quant) throw new UserError('setDynamicLayers: a full-precision network has no quantizers');
  const graph = withDynamic(model.quant.graph, names);
  for (const site of graph.acts) {
    const q = model.quant.acts.get(site.name);
    if (hasFlag(q)) q.isDynamic = site.dynamic;
  }
  model.quant.graph = graph;
}

/** Re-reads the graph's dynamic flags from the quantizers (after loading a checkpoint). */
export function syncDynamicFromFlags(model: SrNetwork): string[] {
  if (!model.quant) return [];
  const flagged = model.quant.graph.acts.filter((a) => { const q = model.quant!.acts.get(a.name); return hasFlag(q) && q.isDynamic; }).map((a) => a.name);
  model.quant.graph = withDynamic(model.quant.graph, flagged);
  return flagged;
}
