import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { resolveConfig, parseDottedOptions, editDistance, closest, ConfigSchema } from '../../lib/config';
import { UserError } from '../../lib/errors';

/** A base shaped like a run config (plain data; optional fields are null). */
function makeBase() {
  return {
    model: { arch: 'edsr', blocks: 16, scale: 4 },
    quant: { bits: 2, method: 'ddtb', dynamicRatio: 0.3, gate: { kind: 'official', regularizerWeight: 1 } },
    train: { steps: 1000, batchSize: 16, learningRate: 1e-4, seeds: [1], sets: ['Set5', 'Set14'], deterministic: true, resume: null as string | null },
  };
}

const schema: ConfigSchema = {
  'model.arch': ['edsr', 'rdn', 'srresnet'],
  'quant.bits': { oneOf: [2, 3, 4] },
  'quant.dynamicRatio': { min: 0, max: 1 },
  'train.batchSize': { min: 2, integer: true },
  'train.learningRate': { greaterThan: 0 },
  'train.seeds': { integer: true, min: 0 },
  'train.resume': { type: 'string' },
};

/** Asserts that fn throws a UserError whose message is exactly `message`. */
function throwsUser(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof UserError, `not a UserError: ${e.message}`);
    assert.equal(e.message, message);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('deep merge: objects merge, scalars and arrays replace, the base is left alone', () => {
  const base = makeBase();
  const snapshot = JSON.parse(JSON.stringify(base));
  const cfg = resolveConfig(base, { train: { steps: 200, seeds: [3, 4] }, quant: { gate: { kind: 'ste' } }, model: { arch: 'rdn' } }, { schema });
  assert.deepEqual(cfg, {
    model: { arch: 'rdn', blocks: 16, scale: 4 },
    quant: { bits: 2, method: 'ddtb', dynamicRatio: 0.3, gate: { kind: 'ste', regularizerWeight: 1 } },
    train: { steps: 200, batchSize: 16, learningRate: 1e-4, seeds: [3, 4], sets: ['Set5', 'Set14'], deterministic: true, resume: null },
  });
  assert.deepEqual(base, snapshot, 'base unchanged');
  assert.ok(!Object.isFrozen(base) && !Object.isFrozen(base.train.sets), 'base not frozen');
  // An array replaces, never merges element-wise: a shorter override drops the rest.
  assert.deepEqual(resolveConfig(base, { train: { sets: ['Urban100'] } }, { schema }).train.sets, ['Urban100']);
  assert.deepEqual(resolveConfig(base, { train: { sets: [] } }, { schema }).train.sets, []);
  // No overrides: an equal, independent copy.
  const same = resolveConfig(base, undefined, { schema });
  assert.deepEqual(same, base);
  assert.notEqual(same.train, base.train);
  assert.deepEqual(resolveConfig(base, null, { schema }), base);
});

test('the result is deeply frozen', () => {
  const cfg = resolveConfig(makeBase(), { train: { steps: 5 } }, { schema });
  for (const obj of [cfg, cfg.model, cfg.quant, cfg.quant.gate, cfg.train, cfg.train.seeds, cfg.train.sets]) assert.ok(Object.isFrozen(obj));
  assert.throws(() => { (cfg.train as { steps: number }).steps = 6; }, TypeError);
  assert.throws(() => { (cfg.train.sets as string[]).push('B100'); }, TypeError);
  assert.throws(() => { (cfg.quant.gate as { kind: string }).kind = 'x'; }, TypeError);
  assert.equal(cfg.train.steps, 5);
});

test('unknown keys are named by path, with a suggestion', () => {
  const base = makeBase();
  throwsUser(() => resolveConfig(base, { train: { stpes: 200 } }, { schema }), 'train.stpes: unknown key (did you mean train.steps?)');
  throwsUser(() => resolveConfig(base, { train: { batchsize: 8 } }, { schema }), 'train.batchsize: unknown key (did you mean train.batchSize?)');
  throwsUser(() => resolveConfig(base, { quant: { gate: { knd: 'ste' } } }, { schema }), 'quant.gate.knd: unknown key (did you mean quant.gate.kind?)');
  throwsUser(() => resolveConfig(base, { trian: { steps: 1 } }, { schema }), 'trian: unknown key (did you mean train?)');
  // In the wrong group: the same key elsewhere.
  throwsUser(() => resolveConfig(base, { train: { arch: 'rdn' } }, { schema }), 'train.arch: unknown key (did you mean model.arch?)');
  // Nothing close: the keys that exist there.
  throwsUser(() => resolveConfig(base, { model: { zzz: 1 } }, { schema }), 'model.zzz: unknown key (keys of model: arch, blocks, scale)');
  throwsUser(() => resolveConfig(base, JSON.parse('{"__proto__": {"x": 1}}'), { schema }), '__proto__: unknown key (top-level keys: model, quant, train)');
  // The source prefixes the message.
  throwsUser(() => resolveConfig(base, { train: { stpes: 1 } }, { schema, source: 'run.json' }), 'run.json: train.stpes: unknown key (did you mean train.steps?)');
});

test('wrong types are named by path', () => {
  const base = makeBase();
  throwsUser(() => resolveConfig(base, { train: { batchSize: '16' } }, { schema }), 'train.batchSize: expected a number, got "16"');
  throwsUser(() => resolveConfig(base, { train: { deterministic: 'yes' } }, { schema }), 'train.deterministic: expected a boolean, got "yes"');
  throwsUser(() => resolveConfig(base, { model: { arch: 3 } }, { schema }), 'model.arch: expected a string, got 3');
  throwsUser(() => resolveConfig(base, { train: 5 }, { schema }), 'train: expected an object (a group of keys), got 5');
  throwsUser(() => resolveConfig(base, { train: { steps: { n: 1 } } }, { schema }), 'train.steps: expected a number, got an object');
  throwsUser(() => resolveConfig(base, { train: { steps: null } }, { schema }), 'train.steps: expected a number, got null');
  throwsUser(() => resolveConfig(base, { train: { seeds: 1 } }, { schema }), 'train.seeds: expected an array of numbers, got 1');
  throwsUser(() => resolveConfig(base, { train: { seeds: [1, '2'] } }, { schema }), 'train.seeds[1]: expected a number, got "2"');
  throwsUser(() => resolveConfig(base, { train: { steps: Infinity } }, { schema }), 'train.steps: expected a finite number, got Infinity');
  throwsUser(() => resolveConfig(base, [1, 2], { schema }), 'expected an object of config keys, got an array');
});

test('schema: literal unions, ranges, integers, null fields', () => {
  const base = makeBase();
  throwsUser(() => resolveConfig(base, { model: { arch: 'edsx' } }, { schema }), 'model.arch: expected one of edsr, rdn, srresnet, got "edsx" (did you mean edsr?)');
  throwsUser(() => resolveConfig(base, { model: { arch: 'swinir' } }, { schema }), 'model.arch: expected one of edsr, rdn, srresnet, got "swinir"');
  throwsUser(() => resolveConfig(base, { quant: { bits: 8 } }, { schema }), 'quant.bits: expected one of 2, 3, 4, got 8');
  throwsUser(() => resolveConfig(base, { train: { batchSize: 1 } }, { schema }), 'train.batchSize: must be at least 2, got 1');
  throwsUser(() => resolveConfig(base, { train: { batchSize: 2.5 } }, { schema }), 'train.batchSize: must be an integer, got 2.5');
  throwsUser(() => resolveConfig(base, { quant: { dynamicRatio: 1.5 } }, { schema }), 'quant.dynamicRatio: must be at most 1, got 1.5');
  throwsUser(() => resolveConfig(base, { train: { learningRate: 0 } }, { schema }), 'train.learningRate: must be greater than 0, got 0');
  throwsUser(() => resolveConfig(base, { train: { seeds: [1, -2] } }, { schema }), 'train.seeds[1]: must be at least 0, got -2');
  // A null field takes the schema's type, and null again.
  assert.equal(resolveConfig(base, { train: { resume: 'runs/a' } }, { schema }).train.resume, 'runs/a');
  assert.equal(resolveConfig(base, { train: { resume: null } }, { schema }).train.resume, null);
  throwsUser(() => resolveConfig(base, { train: { resume: 3 } }, { schema }), 'train.resume: expected a string, got 3');
  // Rules also hold for the base's own values (a bad preset fails).
  throwsUser(() => resolveConfig({ ...base, train: { ...base.train, batchSize: 1 } }, {}, { schema }), 'train.batchSize: must be at least 2, got 1');
  // nullable lets a non-null field be unset.
  const cfg = resolveConfig(base, { quant: { dynamicRatio: null } }, { schema: { ...schema, 'quant.dynamicRatio': { min: 0, max: 1, nullable: true } } });
  assert.equal(cfg.quant.dynamicRatio, null);
});

test('a schema that does not fit the base is a plain Error (a bug)', () => {
  const base = makeBase();
  const bug = (s: ConfigSchema, re: RegExp) => assert.throws(() => resolveConfig(base, {}, { schema: { ...schema, ...s } }), (e: Error) => !(e instanceof UserError) && re.test(e.message));
  bug({ 'train.stepz': { min: 1 } }, /the schema names train\.stepz, which the base config lacks/);
  bug({ 'model.arch': { min: 1 } }, /the schema says model\.arch is a number, the base holds a string/);
  bug({ train: { min: 1 } }, /train, which is a group of keys/);
  // Without a schema a base works as long as no leaf is null; a null leaf needs a type.
  assert.equal(resolveConfig({ a: { b: 1 } }, { a: { b: 2 } }).a.b, 2);
  assert.throws(() => resolveConfig(base, {}), /train\.resume is null in the base and the schema gives no type/);
});

test('parseDottedOptions: values parsed against the base types; other arguments pass through', () => {
  const base = makeBase();
  const { overrides, rest } = parseDottedOptions(
    ['--preset', 'quick', '--train.steps=200', '--model.arch', 'rdn', '--train.deterministic', '--out', 'runs/x.y',
      '--train.learningRate', '-1e-3', '--train.seeds=1,2,3', '--train.resume', 'runs/a', '--quant.gate.kind=ste', '--', '--train.steps=9'],
    base, schema,
  );
  assert.deepEqual(overrides, {
    train: { steps: 200, deterministic: true, learningRate: -1e-3, seeds: [1, 2, 3], resume: 'runs/a' },
    model: { arch: 'rdn' },
    quant: { gate: { kind: 'ste' } },
  });
  assert.deepEqual(rest, ['--preset', 'quick', '--out', 'runs/x.y', '--', '--train.steps=9']);
  // Booleans: bare means true; an explicit true/false is consumed.
  assert.deepEqual(parseDottedOptions(['--train.deterministic', 'false', 'x'], base).overrides, { train: { deterministic: false } });
  assert.deepEqual(parseDottedOptions(['--train.deterministic', 'x'], base).rest, ['x']);
  assert.deepEqual(parseDottedOptions(['--train.sets='], base).overrides, { train: { sets: [] } });
  assert.deepEqual(parseDottedOptions(['--train.resume=null'], base, schema).overrides, { train: { resume: null } });
  // The result feeds resolveConfig, which checks ranges.
  throwsUser(() => resolveConfig(base, overrides, { schema, source: 'command line' }), 'command line: train.learningRate: must be greater than 0, got -0.001');
});

test('parseDottedOptions errors name the option', () => {
  const base = makeBase();
  throwsUser(() => parseDottedOptions(['--train.stpes=200'], base), '--train.stpes: unknown key (did you mean --train.steps?)');
  throwsUser(() => parseDottedOptions(['--trian.steps=200'], base), '--trian.steps: unknown key trian (did you mean --train.steps?)');
  throwsUser(() => parseDottedOptions(['--train.zzz=1'], base), '--train.zzz: unknown key (keys of train: steps, batchSize, learningRate, seeds, sets, deterministic, resume)');
  throwsUser(() => parseDottedOptions(['--train.batchSize=abc'], base), '--train.batchSize: expected a number, got "abc"');
  throwsUser(() => parseDottedOptions(['--train.batchSize='], base), '--train.batchSize: expected a number, got ""');
  throwsUser(() => parseDottedOptions(['--train.deterministic=yes'], base), '--train.deterministic: expected true or false, got "yes"');
  throwsUser(() => parseDottedOptions(['--train.seeds=1,x'], base), '--train.seeds: expected a number, got "x"');
  throwsUser(() => parseDottedOptions(['--train.steps'], base), '--train.steps: needs a value');
  throwsUser(() => parseDottedOptions(['--train.steps', '--model.arch=rdn'], base), '--train.steps: needs a value');
  throwsUser(() => parseDottedOptions(['--quant.gate=ste'], base), '--quant.gate: a group of keys; set one of them, e.g. --quant.gate.kind');
  throwsUser(() => parseDottedOptions(['--train.steps.x=1'], base), '--train.steps.x: train.steps is a single value, not a group of keys');
  throwsUser(() => parseDottedOptions(['--train.steps=1', '--train.steps=2'], base), '--train.steps: given twice');
  throwsUser(() => parseDottedOptions(['--train..steps=1'], base), '--train..steps: malformed option name');
});

test('edit distance and suggestions', () => {
  assert.equal(editDistance('steps', 'steps'), 0);
  assert.equal(editDistance('stpes', 'steps'), 1, 'a transposition costs 1');
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(closest('batchsize', ['steps', 'batchSize']), 'batchSize');
  assert.equal(closest('lr', ['steps', 'batchSize']), undefined);
  assert.equal(closest('epocs', ['epochs', 'steps']), 'epochs');
});
