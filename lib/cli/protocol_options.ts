/** The evaluation-protocol options shared by `bicubic`, `eval` and `experiment`. */
import { OptionSpec, OptionValues } from './command';
import { EvalProtocol } from '../metrics/result';
import { UserError } from '../errors';

export const protocolOptions: Record<string, OptionSpec> = {
  channel: { type: 'string', value: 'y|rgb', help: 'score on BT.601 Y (the literature) or PSNR on RGB', default: 'y' },
  gray: { type: 'string', value: 'replicate|raw', help: "gray HR files: as 3 equal channels, or their raw values (published Set14 rows)", default: 'replicate' },
  shave: { type: 'string', value: 'N|scale', help: 'border pixels cut on each side', default: 'scale' },
  lr: { type: 'string', value: 'standard|generated', help: 'shipped LR files where a set has them, or always the MATLAB-bicubic resize', default: 'standard' },
};

function oneOf<T extends string>(value: unknown, option: string, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UserError(`--${option}: '${String(value)}' is not one of ${allowed.join(', ')}`);
}

export function protocolFromOptions(options: OptionValues, base: EvalProtocol): EvalProtocol {
  const shaveText = String(options.shave ?? base.shave);
  let shave: number | 'scale' = 'scale';
  if (shaveText !== 'scale') {
    const n = Number(shaveText);
    if (!Number.isInteger(n) || n < 0) throw new UserError(`--shave: '${shaveText}' is not 'scale' or a non-negative integer`);
    shave = n;
  }
  return {
    channel: oneOf(options.channel ?? base.channel, 'channel', ['y', 'rgb'] as const),
    gray: oneOf(options.gray ?? base.gray, 'gray', ['replicate', 'raw'] as const),
    shave,
    lr: oneOf(options.lr ?? base.lr, 'lr', ['standard', 'generated'] as const),
  };
}
