/**
 * Config resolution: a typed base config (a preset) plus untyped overrides (a JSON file, command-line
 * options) -> one validated, deeply frozen config.
 *
 * - Plain objects merge key by key; arrays and scalars replace; the base's shape is the type: a key
 *   the base lacks is an error naming its path, with a suggestion
 *   (`train.stpes: unknown key (did you mean train.steps?)`), and so is a value of another type
 *   (`train.batchSize: expected a number, got "16"`).
 * - A small optional schema, keyed by dotted path, adds literal unions and numeric ranges:
 *   `{ 'model.arch': ['edsr', 'rdn', 'srresnet'], 'train.batchSize': { min: 2, integer: true } }`.
 *   It also gives the type of a field whose base value is null (an optional field, unset by default):
 *   `{ 'train.resume': { type: 'string' } }`. Rules are checked on the merged result, so a bad base
 *   value fails too.
 * - Errors are UserErrors with one line, prefixed by the source when one is given
 *   (`run.json: train.stpes: unknown key ...`). A schema that does not fit the base is a plain Error
 *   (a bug, not a user mistake).
 *
 * Base configs must be plain data: objects, arrays, strings, finite numbers, booleans and null.
 * Optional fields are present in the base with the value null.
 */
import { UserError } from '../errors';

/** T with every nested field readonly (what resolveConfig returns: the object is also frozen). */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends readonly (infer V)[]
    ? readonly DeepReadonly<V>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/** T with every nested field optional (the shape of an override). */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

export type ScalarType = 'string' | 'number' | 'boolean';

/** Constraints on one leaf (a scalar, or every element of an array). */
export interface FieldRule {
  /** The allowed values: a literal union. */
  readonly oneOf?: readonly (string | number | boolean)[];
  /** Inclusive lower bound. */
  readonly min?: number;
  /** Inclusive upper bound. */
  readonly max?: number;
  /** Exclusive lower bound (e.g. 0 for a learning rate). */
  readonly greaterThan?: number;
  /** Exclusive upper bound. */
  readonly lessThan?: number;
  readonly integer?: boolean;
  /** The value's type; required where the base value is null, and must match the base otherwise. */
  readonly type?: ScalarType;
  /** Whether null is accepted where the base value is not null (a null base always accepts null). */
  readonly nullable?: boolean;
}

/** Dotted path -> rule; an array of strings is shorthand for `{ oneOf: [...] }`. */
export type ConfigSchema = Readonly<Record<string, FieldRule | readonly string[]>>;

export interface ResolveOptions {
  readonly schema?: ConfigSchema;
  /** Where the overrides came from (a file name, 'command line'); prefixes every message. */
  readonly source?: string;
}

type Plain = Record<string, unknown>;

export function isPlainObject(v: unknown): v is Plain {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** How a value reads in a message: strings quoted, containers by kind. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

/**
 * Optimal-string-alignment edit distance (Levenshtein plus adjacent transpositions, each costing 1),
 * so 'stpes' is 1 from 'steps'.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `word` (case-insensitive), if within max(1, floor(length / 3)) edits. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) { best = c; bestDistance = dist; }
  }
  if (best === undefined) return undefined;
  return bestDistance <= Math.max(1, Math.floor(Math.max(word.length, best.length) / 3)) ? best : undefined;
}

const joinPath = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** Every dotted path in a plain-data tree (objects only; arrays are leaves). */
function allPaths(node: unknown, path = ''): string[] {
  if (!isPlainObject(node)) return [];
  return Object.keys(node).flatMap((k) => [joinPath(path, k), ...allPaths(node[k], joinPath(path, k))]);
}

/**
 * The suggestion for an unknown key `key` under `path` of `base`: the closest sibling, else a path
 * elsewhere whose last part matches `key`, else undefined.
 */
export function suggestPath(base: unknown, path: string, key: string, siblings: readonly string[]): string | undefined {
  const near = closest(key, siblings);
  if (near !== undefined) return joinPath(path, near);
  const paths = allPaths(base);
  const last = (p: string) => p.slice(p.lastIndexOf('.') + 1);
  const exact = paths.filter((p) => last(p).toLowerCase() === key.toLowerCase());
  if (exact.length > 0) return exact[0];
  const byLast = closest(key, paths.map(last));
  return byLast === undefined ? undefined : paths.find((p) => last(p) === byLast);
}

/** `<path>: unknown key (did you mean X?)` or, without a close match, the keys that exist there. */
export function unknownKeyMessage(base: unknown, path: string, key: string, siblings: readonly string[], prefix = ''): string {
  const full = joinPath(path, key);
  const hint = suggestPath(base, path, key, siblings);
  if (hint !== undefined) return `${prefix}${full}: unknown key (did you mean ${prefix === '--' ? '--' : ''}${hint}?)`;
  const known = siblings.length <= 12 ? siblings.join(', ') : `${siblings.slice(0, 12).join(', ')}, ...`;
  return `${prefix}${full}: unknown key (${path ? `keys of ${path}` : 'top-level keys'}: ${known})`;
}

function normaliseRule(rule: FieldRule | readonly string[]): FieldRule {
  return Array.isArray(rule) ? { oneOf: rule as readonly string[], type: 'string' } : (rule as FieldRule);
}

/** The scalar type a rule implies, if any. */
function ruleType(rule: FieldRule): ScalarType | undefined {
  if (rule.type) return rule.type;
  if (rule.oneOf && rule.oneOf.length > 0) {
    const t = typeof rule.oneOf[0];
    if (rule.oneOf.every((v) => typeof v === t)) return t as ScalarType;
  }
  if (rule.min !== undefined || rule.max !== undefined || rule.greaterThan !== undefined || rule.lessThan !== undefined || rule.integer) return 'number';
  return undefined;
}

/** Reads the value at a dotted path of a plain-data tree; `found` is false when a part is missing. */
function lookup(root: unknown, path: string): { found: boolean; value: unknown } {
  let node: unknown = root;
  for (const part of path.split('.')) {
    if (!isPlainObject(node) || !hasOwn(node, part)) return { found: false, value: undefined };
    node = node[part];
  }
  return { found: true, value: node };
}

/**
 * The leaf type at `path` of `base`, from the base value, else from the schema: a scalar type, or an
 * array of one (element type null when unknown: any scalar).
 */
export interface LeafType {
  readonly kind: 'scalar' | 'array';
  readonly type: ScalarType | null;
  readonly nullable: boolean;
}

function scalarTypeOf(v: unknown): ScalarType | undefined {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? typeof v as ScalarType : undefined;
}

/** The type a leaf accepts (plain Error if neither the base nor the schema says). */
export function leafType(baseValue: unknown, path: string, schema: ConfigSchema | undefined): LeafType {
  const rule = schema && hasOwn(schema, path) ? normaliseRule(schema[path]) : undefined;
  const fromRule = rule ? ruleType(rule) : undefined;
  if (Array.isArray(baseValue)) {
    const fromBase = baseValue.length > 0 ? scalarTypeOf(baseValue[0]) : undefined;
    return { kind: 'array', type: fromBase ?? fromRule ?? null, nullable: rule?.nullable === true };
  }
  if (baseValue === null || baseValue === undefined) {
    if (!fromRule) throw new Error(`resolveConfig: ${path} is null in the base and the schema gives no type for it`);
    return { kind: 'scalar', type: fromRule, nullable: true };
  }
  const t = scalarTypeOf(baseValue);
  if (!t) throw new Error(`resolveConfig: ${path} in the base is not plain data`);
  return { kind: 'scalar', type: t, nullable: rule?.nullable === true };
}

/** Checks a schema against the base it describes (plain Errors: these are bugs). */
function checkSchema(base: unknown, schema: ConfigSchema): void {
  for (const [path, raw] of Object.entries(schema)) {
    const { found, value } = lookup(base, path);
    if (!found) throw new Error(`resolveConfig: the schema names ${path}, which the base config lacks`);
    if (isPlainObject(value)) throw new Error(`resolveConfig: the schema names ${path}, which is a group of keys, not a value`);
    const rule = normaliseRule(raw);
    const t = ruleType(rule);
    const baseType = Array.isArray(value) ? (value.length > 0 ? scalarTypeOf(value[0]) : undefined) : scalarTypeOf(value);
    if (t && baseType && t !== baseType) throw new Error(`resolveConfig: the schema says ${path} is ${article(t)}, the base holds ${article(baseType)}`);
  }
}

/** Base configs must be plain data; also finds null leaves the schema must type. */
function checkBase(node: unknown, path: string, schema: ConfigSchema | undefined): void {
  if (isPlainObject(node)) {
    for (const k of Object.keys(node)) checkBase(node[k], joinPath(path, k), schema);
    return;
  }
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      if (v !== null && !scalarTypeOf(v)) throw new Error(`resolveConfig: ${path}[${i}] in the base is not a scalar (arrays hold scalars)`);
    });
    return;
  }
  if (node === null || node === undefined) { leafType(node, path, schema); return; }
  if (!scalarTypeOf(node)) throw new Error(`resolveConfig: ${path || 'the base'} is not plain data`);
  if (typeof node === 'number' && !Number.isFinite(node)) throw new Error(`resolveConfig: ${path} in the base is ${node}`);
}

class Resolver {
  constructor(private readonly base: unknown, private readonly schema: ConfigSchema | undefined, private readonly prefix: string) {}

  fail(message: string): never {
    throw new UserError(`${this.prefix}${message}`);
  }

  scalar(value: unknown, type: ScalarType | null, nullable: boolean, path: string): unknown {
    if (value === null) {
      if (nullable) return null;
      this.fail(`${path}: expected ${article(type ?? 'value')}, got null`);
    }
    const t = scalarTypeOf(value);
    if (!t || (type !== null && t !== type)) this.fail(`${path}: expected ${article(type ?? 'string, number or boolean')}, got ${describeValue(value)}`);
    if (t === 'number' && !Number.isFinite(value as number)) this.fail(`${path}: expected a finite number, got ${value}`);
    return value;
  }

  merge(baseNode: unknown, over: unknown, path: string): unknown {
    if (over === undefined) return clone(baseNode);
    if (isPlainObject(baseNode)) {
      if (!isPlainObject(over)) this.fail(`${path}: expected an object (a group of keys), got ${describeValue(over)}`);
      const siblings = Object.keys(baseNode);
      for (const key of Object.keys(over)) {
        if (!hasOwn(baseNode, key)) this.fail(unknownKeyMessage(this.base, path, key, siblings));
      }
      const out: Plain = {};
      for (const key of siblings) out[key] = this.merge(baseNode[key], over[key], joinPath(path, key));
      return out;
    }
    const leaf = leafType(baseNode, path, this.schema);
    if (leaf.kind === 'array') {
      if (over === null && leaf.nullable) return null;
      if (!Array.isArray(over)) this.fail(`${path}: expected an array${leaf.type ? ` of ${leaf.type}s` : ''}, got ${describeValue(over)}`);
      return over.map((v, i) => this.scalar(v, leaf.type, false, `${path}[${i}]`));
    }
    return this.scalar(over, leaf.type, leaf.nullable, path);
  }

  /** Applies one rule to the value at `path` of the merged config. */
  checkRule(root: unknown, path: string, raw: FieldRule | readonly string[]): void {
    const rule = normaliseRule(raw);
    const { value } = lookup(root, path);
    const values: Array<[unknown, string]> = Array.isArray(value) ? value.map((v, i) => [v, `${path}[${i}]`]) : [[value, path]];
    for (const [v, where] of values) {
      if (v === null) continue; // nullability was checked by the merge
      if (rule.oneOf && !rule.oneOf.includes(v as string | number | boolean)) {
        const hint = typeof v === 'string' ? closest(v, rule.oneOf.filter((x): x is string => typeof x === 'string')) : undefined;
        this.fail(`${where}: expected one of ${rule.oneOf.join(', ')}, got ${describeValue(v)}${hint !== undefined ? ` (did you mean ${hint}?)` : ''}`);
      }
      if (typeof v !== 'number') continue;
      if (rule.integer && !Number.isInteger(v)) this.fail(`${where}: must be an integer, got ${v}`);
      if (rule.min !== undefined && v < rule.min) this.fail(`${where}: must be at least ${rule.min}, got ${v}`);
      if (rule.max !== undefined && v > rule.max) this.fail(`${where}: must be at most ${rule.max}, got ${v}`);
      if (rule.greaterThan !== undefined && !(v > rule.greaterThan)) this.fail(`${where}: must be greater than ${rule.greaterThan}, got ${v}`);
      if (rule.lessThan !== undefined && !(v < rule.lessThan)) this.fail(`${where}: must be less than ${rule.lessThan}, got ${v}`);
    }
  }
}

function clone(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clone);
  if (isPlainObject(node)) {
    const out: Plain = {};
    for (const k of Object.keys(node)) out[k] = clone(node[k]);
    return out;
  }
  return node === undefined ? null : node;
}

/** Object.freeze on every object and array of a plain-data tree; returns the same tree. */
export function deepFreeze<T>(node: T): DeepReadonly<T> {
  if (Array.isArray(node) || isPlainObject(node)) {
    for (const v of Object.values(node as object)) deepFreeze(v);
    Object.freeze(node);
  }
  return node as DeepReadonly<T>;
}

/**
 * base + overrides -> a new, validated, deeply frozen config (the base is not changed or frozen).
 * `overrides` is any parsed JSON (or parseDottedOptions output); undefined or null means none.
 * Example:
 *   resolveConfig({ train: { steps: 100, batchSize: 16 } }, { train: { steps: 200 } })
 *     -> { train: { steps: 200, batchSize: 16 } } (frozen)
 */
export function resolveConfig<T>(base: T, overrides?: unknown, options: ResolveOptions = {}): DeepReadonly<T> {
  const { schema } = options;
  const prefix = options.source ? `${options.source}: ` : '';
  if (!isPlainObject(base)) throw new Error('resolveConfig: the base config must be a plain object');
  checkBase(base, '', schema);
  if (schema) checkSchema(base, schema);
  const resolver = new Resolver(base, schema, prefix);
  if (overrides !== undefined && overrides !== null && !isPlainObject(overrides)) {
    resolver.fail(`expected an object of config keys, got ${describeValue(overrides)}`);
  }
  const merged = resolver.merge(base, overrides ?? undefined, '');
  if (schema) for (const [path, rule] of Object.entries(schema)) resolver.checkRule(merged, path, rule);
  return deepFreeze(merged as T);
}

/** What parseDottedOptions returns. */
export interface DottedOptions {
  /** Nested overrides for resolveConfig. */
  readonly overrides: Record<string, unknown>;
  /** The other arguments, in order (for the command's own option parser). */
  readonly rest: string[];
}

function parseScalarOption(text: string, type: ScalarType | null, nullable: boolean, option: string): unknown {
  if (nullable && text === 'null') return null;
  if (type === 'number') {
    const n = text.trim() === '' ? NaN : Number(text);
    if (!Number.isFinite(n)) throw new UserError(`${option}: expected a number, got ${JSON.stringify(text)}`);
    return n;
  }
  if (type === 'boolean') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw new UserError(`${option}: expected true or false, got ${JSON.stringify(text)}`);
  }
  return text;
}

/**
 * Picks the dotted options (`--train.steps=200`, `--model.arch rdn`, `--train.flag` for true) out of
 * argv and parses each value against the base's type at that path: numbers, booleans (true/false),
 * strings, comma-separated arrays; `null` for a nullable field. Other arguments are returned in
 * `rest` unchanged; everything after `--` is left alone. Errors name the option:
 * `--train.batchSize: expected a number, got "abc"`, `--train.stpes: unknown key (did you mean
 * --train.steps?)`. Ranges and unions are checked later, by resolveConfig with the same schema.
 */
export function parseDottedOptions(argv: readonly string[], base: unknown, schema?: ConfigSchema): DottedOptions {
  const overrides: Record<string, unknown> = {};
  const rest: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') { rest.push(...argv.slice(i)); break; }
    const eq = token.indexOf('=');
    const name = token.startsWith('--') ? token.slice(2, eq < 0 ? undefined : eq) : '';
    if (!name.includes('.')) { rest.push(token); continue; }
    const option = `--${name}`;
    const parts = name.split('.');
    if (parts.some((p) => p === '')) throw new UserError(`${option}: malformed option name`);
    // Walk the base to the leaf.
    let node: unknown = base;
    let path = '';
    for (const [partIndex, part] of parts.entries()) {
      if (!isPlainObject(node)) throw new UserError(`${option}: ${path} is a single value, not a group of keys`);
      if (!hasOwn(node, part)) {
        // A typo in an inner part: suggest the whole option when the rest then fits.
        const hint = suggestPath(base, path, part, Object.keys(node));
        const remaining = parts.slice(partIndex + 1);
        if (hint !== undefined && remaining.length > 0 && lookup(base, [hint, ...remaining].join('.')).found) {
          throw new UserError(`${option}: unknown key ${joinPath(path, part)} (did you mean --${[hint, ...remaining].join('.')}?)`);
        }
        throw new UserError(unknownKeyMessage(base, path, part, Object.keys(node), '--'));
      }
      node = node[part];
      path = joinPath(path, part);
    }
    if (isPlainObject(node)) {
      const keys = Object.keys(node);
      throw new UserError(`${option}: a group of keys; set one of them, e.g. --${joinPath(path, keys[0] ?? 'key')}`);
    }
    if (seen.has(path)) throw new UserError(`${option}: given twice`);
    seen.add(path);
    const leaf = leafType(node, path, schema);
    let text: string;
    if (eq >= 0) {
      text = token.slice(eq + 1);
    } else if (leaf.kind === 'scalar' && leaf.type === 'boolean') {
      const next = argv[i + 1];
      text = next === 'true' || next === 'false' ? (i++, next) : 'true';
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UserError(`${option}: needs a value`);
      text = next;
      i++;
    }
    let value: unknown;
    if (leaf.kind === 'array') {
      value = leaf.nullable && text === 'null' ? null
        : text === '' ? [] : text.split(',').map((s) => parseScalarOption(s.trim(), leaf.type, false, option));
    } else {
      value = parseScalarOption(text, leaf.type, leaf.nullable, option);
    }
    let target = overrides;
    for (const part of parts.slice(0, -1)) {
      if (!isPlainObject(target[part])) target[part] = {};
      target = target[part] as Record<string, unknown>;
    }
    target[parts[parts.length - 1]] = value;
  }
  return { overrides, rest };
}
