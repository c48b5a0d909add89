/**
 * What a `ddtb` subcommand is: a name, its options (declared once, used for parsing and --help)
 * and a run function. Parsing is strict: an unknown option or a missing value is a UserError that
 * names the option and the command.
 */
import { parseArgs } from 'util';
import { UserError } from '../errors';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** One line for --help. */
  readonly help: string;
  /** Placeholder in --help, e.g. DIR. */
  readonly value?: string;
  readonly default?: string | boolean;
}

export type OptionValues = Record<string, string | boolean | undefined>;

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Extra lines after the option list in --help. */
  readonly details?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Whether bare arguments are accepted (otherwise they are an error). */
  readonly positionals?: string;
  /** Accepts dotted config overrides (`--train.steps=200`), passed to run() untouched. */
  readonly dotted?: string;
  /** Returns the exit status (0 when omitted). */
  run(options: OptionValues, positionals: string[], dotted: string[]): Promise<number | void>;
}

export function helpText(cmd: Command): string {
  const lines = [`usage: ddtb ${cmd.name} [options]${cmd.positionals ? ` ${cmd.positionals}` : ''}`, '', cmd.summary, '', 'options:'];
  const entries = Object.entries({ ...cmd.options, help: { type: 'boolean', help: 'show this help' } as OptionSpec });
  const left = entries.map(([name, spec]) => `  --${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  entries.forEach(([, spec], i) => {
    const dflt = spec.default !== undefined && spec.default !== false ? ` (default: ${spec.default})` : '';
    lines.push(left[i].padEnd(width) + spec.help + dflt);
  });
  if (cmd.dotted) lines.push('', cmd.dotted);
  if (cmd.details) lines.push('', cmd.details);
  return lines.join('\n');
}

/** Parses argv for `cmd`; `help` is true when --help was given. */
/** Splits `--a.b=v` / `--a.b v` arguments off argv (for commands that take dotted overrides). */
export function splitDotted(argv: string[]): { rest: string[]; dotted: string[] } {
  const rest: string[] = [], dotted: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (/^--[A-Za-z]\w*\.[\w.]+(=.*)?$/.test(a)) {
      dotted.push(a);
      if (!a.includes('=') && i + 1 < argv.length && !argv[i + 1].startsWith('--')) dotted.push(argv[++i]);
    } else rest.push(a);
  }
  return { rest, dotted };
}

export function parseCommandArgs(cmd: Command, argv: string[]): { options: OptionValues; positionals: string[]; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }> = { help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(cmd.options)) {
    options[name] = spec.default === undefined ? { type: spec.type } : { type: spec.type, default: spec.default };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const msg = err.message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '');
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UserError(`ddtb ${cmd.name}: ${msg.replace(/^Unknown option/, 'unknown option')} (see ddtb ${cmd.name} --help)`);
    }
    throw new UserError(`ddtb ${cmd.name}: ${msg}`);
  }
  const values = parsed.values as OptionValues;
  if (!cmd.positionals && parsed.positionals.length > 0 && !values.help) {
    throw new UserError(`ddtb ${cmd.name}: unexpected argument '${parsed.positionals[0]}' (see ddtb ${cmd.name} --help)`);
  }
  return { options: values, positionals: parsed.positionals, help: values.help === true };
}

/** Reads a comma-separated list option, e.g. `--sets Set5,Set14`. */
export function listOption(value: string | boolean | undefined, option: string): string[] {
  if (typeof value !== 'string' || value.trim() === '') throw new UserError(`--${option} needs a comma-separated list`);
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Reads an integer option of at least `min` (1: positive, 0: non-negative); undefined when the
 * option was not given. A value that is not such an integer is a UserError naming the option.
 */
export function intOption(value: unknown, option: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UserError(`--${option}: '${String(value)}' is not a ${min === 1 ? 'positive' : min === 0 ? 'non-negative' : `>= ${min}`} integer`);
  }
  return n;
}

/** Reads a comma-separated list of positive integers, e.g. `--scales 2,3,4`. */
export function intListOption(value: string | boolean | undefined, option: string): number[] {
  return listOption(value, option).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new UserError(`--${option}: '${s}' is not a positive integer`);
    return n;
  });
}

export function stringOption(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
