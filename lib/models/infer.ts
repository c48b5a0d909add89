/**
 * Reads an architecture off a state dict's names and shapes, so `ddtb eval --weights FILE` and
 * `ddtb sr` work without architecture flags. Flags, when given, win; a mismatch between the flags and
 * the file then shows up as a load error listing the missing/unexpected keys and shape mismatches.
 */
import { StateDict } from '../nn/module';
import { Architecture } from './types';
import { ModelConfig } from './factory';

function countIndices(sd: StateDict, pattern: RegExp): number {
  const seen = new Set<number>();
  for (const k of sd.keys()) {
    const m = pattern.exec(k);
    if (m) seen.add(Number(m[1]));
  }
  return seen.size;
}

/** The upsampler's total scale from its conv output channels (r*r*feats per stage). */
function scaleFromStages(sd: StateDict, convNames: string[], feats: number): number | null {
  let scale = 1;
  let found = 0;
  for (const n of convNames) {
    const w = sd.get(`${n}.weight`);
    if (!w || w.shape[0] === 3) break; // RDN's UPNet ends with the conv to RGB
    const rr = w.shape[0] / feats;
    const r = Math.round(Math.sqrt(rr));
    if (r * r !== rr) return null;
    scale *= r;
    found++;
  }
  return found > 0 ? scale : null;
}

export function detectArchitecture(sd: StateDict): Architecture | null {
  if (sd.has('head.0.weight')) return 'edsr';
  if (sd.has('SFENet1.weight')) return 'rdn';
  if (sd.has('conv_input.weight')) return 'srresnet';
  return null;
}

/** The model configuration a state dict was saved from, or null when it is not one we know. */
export function inferModelConfig(sd: StateDict): ModelConfig | null {
  const arch = detectArchitecture(sd);
  if (arch === 'edsr') {
    const feats = sd.get('head.0.weight')!.shape[0];
    const blocks = countIndices(sd, /^body\.(\d+)\.body\.0\.weight$/);
    const scale = scaleFromStages(sd, ['tail.0.0', 'tail.0.2', 'tail.0.4'], feats);
    return scale ? { arch, blocks, feats, scale, resScale: 1 } : null;
  }
  if (arch === 'rdn') {
    const feats = sd.get('SFENet1.weight')!.shape[0];
    const blocks = countIndices(sd, /^RDBs\.(\d+)\.LFF\.weight$/);
    const convsPerBlock = countIndices(sd, /^RDBs\.0\.convs\.(\d+)\.conv\.0\.weight$/);
    const growth = sd.get('RDBs.0.convs.0.conv.0.weight')?.shape[0] ?? feats;
    const scale = scaleFromStages(sd, ['UPNet.0', 'UPNet.2', 'UPNet.4'], growth);
    return scale ? { arch, blocks, convsPerBlock, growth, feats, scale } : null;
  }
  if (arch === 'srresnet') {
    const feats = sd.get('conv_input.weight')!.shape[0];
    const blocks = countIndices(sd, /^residual\.(\d+)\.conv1\.weight$/);
    const scale = scaleFromStages(sd, ['upscale.0', 'upscale.3', 'upscale.6'], feats);
    return scale ? { arch, blocks, feats, scale } : null;
  }
  return null;
}
