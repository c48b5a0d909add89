import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { OpaqueObject, PickleCallable, PickleError, PickleGlobal, PickleValue, PickleWriter, unpickle } from '../../lib/io/pickle';
import { repoRoot } from '../helpers';

/** The JSON form make_fixtures.py's `as_json` gives CPython values. */
function asJson(v: PickleValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { __int__: v.toString() };
  if (v instanceof Uint8Array) return { __bytes__: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return Object.isFrozen(v) ? { __tuple__: v.map(asJson) } : v.map(asJson);
  if (v instanceof Map) return { __dict__: [...v].map(([k, x]) => [asJson(k), asJson(x)]) };
  if (v instanceof Set) return { __set__: [...v].map(asJson) };
  if (v instanceof OpaqueObject) return { __object__: v.global.qualifiedName, args: v.args.map(asJson), state: v.state === undefined ? null : asJson(v.state) };
  throw new Error(`unexpected value ${String(v)}`);
}

interface PickleCase { protocol: number; hex: string; value: unknown }
const cases = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'io', 'fixtures', 'pickles.json'), 'utf8')) as PickleCase[];

test('CPython pickles of every protocol (0-5) unpickle to the same values', () => {
  assert.ok(cases.length >= 8);
  for (const c of cases) {
    const bytes = Buffer.from(c.hex, 'hex');
    const { value, end } = unpickle(bytes);
    assert.equal(end, bytes.length, `protocol ${c.protocol}: STOP is the last byte`);
    // -0.0 survives as -0 (deepEqual tells them apart via Object.is).
    assert.deepEqual(asJson(value), c.value, `protocol ${c.protocol}`);
  }
});

test('memo references keep identity: a list pickled twice is one object', () => {
  const c = cases.find((x) => x.protocol === 2)!;
  const { value } = unpickle(Buffer.from(c.hex, 'hex'));
  const shared = (value as Map<PickleValue, PickleValue>).get('shared') as PickleValue[][];
  assert.equal(shared[0], shared[1]);
});

test('unknown globals become placeholders; known ones are built by the hooks only', () => {
  // GLOBAL os system, 'echo', TUPLE1, REDUCE: recorded, never run.
  const p = new PickleWriter().global('os', 'system').str('echo hi').raw(0x85).reduce().stop();
  const v = unpickle(p).value as OpaqueObject;
  assert.ok(v instanceof OpaqueObject);
  assert.equal(v.global.qualifiedName, 'os.system');
  assert.deepEqual(v.args, ['echo hi']);
  const g = unpickle(new PickleWriter().global('numpy', 'float32').stop()).value;
  assert.ok(g instanceof PickleGlobal);
  const hooks = { globals: new Map<string, PickleValue>([['m f', new PickleCallable('m.f', (a) => (a[0] as number) * 2)]]) };
  assert.equal(unpickle(new PickleWriter().global('m', 'f').mark().int(21).tuple().reduce().stop(), hooks).value, 42);
});

test('PickleWriter values round trip, ints at every width boundary', () => {
  const ints = [0, 255, 256, 65535, 65536, -1, -128, -129, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n];
  for (const i of ints) assert.equal(unpickle(new PickleWriter().int(i).stop()).value, typeof i === 'bigint' && i >= -(2n ** 53n) && i < 2n ** 53n ? Number(i) : i, String(i));
  for (const f of [0.1, -0, 1e-310, Infinity]) assert.ok(Object.is(unpickle(new PickleWriter().float(f).stop()).value, f), String(f));
  assert.equal(unpickle(new PickleWriter().str('grüße €').stop()).value, 'grüße €');
  const t = unpickle(new PickleWriter().intTuple([3, 64, 1]).stop()).value;
  assert.deepEqual(t, [3, 64, 1]);
  assert.ok(Object.isFrozen(t));
  assert.deepEqual(unpickle(new PickleWriter().intTuple([]).stop()).value, []);
});

test('malformed streams raise PickleError with the byte offset', () => {
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0xff])), (e: unknown) => e instanceof PickleError && /unknown opcode 0xff at byte 2/.test(e.message));
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x58, 10, 0, 0, 0, 0x61])), (e: unknown) => e instanceof PickleError && e.truncated && /inside BINUNICODE at byte 2/.test(e.message));
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 5, 0x2e])), /reads memo 5, which was never stored/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x2e])), /on an empty stack/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4b, 0, 0x4b, 1, 0x4b, 2, 0x73, 0x2e])), /SETITEM.* on a number, not a dict/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x51, 0x2e])), /on an empty stack|no persistent loader/);
});
