import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UserError } from '../../lib/errors';
import type { StateDict, StateEntry } from '../../lib/nn/module';
import { decodeSafetensors, readSafetensors, writeSafetensors } from '../../lib/io/safetensors';
import { writeFileAtomic } from '../../lib/io/atomic_write';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-safetensors-'));
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

function sample(): StateDict {
  return new Map<string, StateEntry>([
    ['body.10.weight', { shape: [2, 1, 1, 3], dtype: 'float32', data: Float32Array.from([1.5, -0, 1e-45, NaN, -Infinity, 3.4e38]) }],
    ['2', { shape: [], dtype: 'float32', data: Float32Array.of(0.25) }],
    ['0', { shape: [0], dtype: 'float32', data: new Float32Array(0) }],
    ['bn.num_batches_tracked', { shape: [], dtype: 'int64', data: BigInt64Array.of(2n ** 62n + 7n) }],
    ['quant.is_dynamic', { shape: [1], dtype: 'float32', data: Float32Array.of(1) }],
  ]);
}

const bits = (e: StateEntry) => Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);

test('safetensors round trip keeps names, order (integer-like names too), shapes, dtypes, bits and metadata', async () => {
  const file = path.join(tmp, 'ckpt.safetensors');
  const metadata = { config: JSON.stringify({ model: { blocks: 8 }, train: { steps: 200 } }), commit: 'abc123', note: 'ü "quoted"\n' };
  await writeSafetensors(file, sample(), metadata);
  const back = await readSafetensors(file);
  assert.deepEqual(back.metadata, metadata);
  assert.deepEqual(back.notes, []);
  assert.deepEqual([...back.tensors.keys()], [...sample().keys()]);
  for (const [k, e] of sample()) {
    const g = back.tensors.get(k)!;
    assert.deepEqual([g.shape, g.dtype], [e.shape, e.dtype], k);
    assert.ok(bits(g).equals(bits(e)), `${k}: same bits`);
  }
  // Layout: u64 header length (a multiple of 8), JSON header, then the buffer in state-dict order.
  const raw = fs.readFileSync(file);
  const n = Number(raw.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const header = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
  assert.deepEqual(header['body.10.weight'], { dtype: 'F32', shape: [2, 1, 1, 3], data_offsets: [0, 24] });
  assert.deepEqual(header['bn.num_batches_tracked'], { dtype: 'I64', shape: [], data_offsets: [28, 36] });
  assert.equal(raw.length, 8 + n + 40);
  assert.deepEqual(leftovers(tmp), []);
});

test('a hand-built file in the documented layout decodes, with foreign dtypes converted and noted', () => {
  const header = JSON.stringify({
    b: { dtype: 'F16', shape: [2], data_offsets: [8, 12] },
    a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
    c: { dtype: 'I32', shape: [1, 1], data_offsets: [12, 16] },
    __metadata__: { format: 'pt' },
  });
  const data = Buffer.alloc(16);
  data.writeDoubleLE(1 / 3, 0);
  data.writeUInt16LE(0x3c00, 8); // 1.0
  data.writeUInt16LE(0xc000, 10); // -2.0
  data.writeInt32LE(-9, 12);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const got = decodeSafetensors(Buffer.concat([len, Buffer.from(header), data]), 'hand.safetensors');
  assert.deepEqual([...got.tensors.keys()], ['a', 'b', 'c'], 'buffer order');
  assert.deepEqual(got.tensors.get('a'), { shape: [1], dtype: 'float32', data: Float32Array.of(Math.fround(1 / 3)) });
  assert.deepEqual([...got.tensors.get('b')!.data], [1, -2]);
  assert.deepEqual(got.tensors.get('c'), { shape: [1, 1], dtype: 'int64', data: BigInt64Array.of(-9n) });
  assert.deepEqual(got.metadata, { format: 'pt' });
  assert.deepEqual(got.notes, ['float64 -> float32 (rounded to nearest): a', 'float16 -> float32 (exact): b', 'int32 -> int64 (exact): c']);
});

test('truncated and corrupt safetensors files give UserErrors naming the file', async () => {
  const file = path.join(tmp, 'good.safetensors');
  await writeSafetensors(file, sample(), { k: 'v' });
  const good = fs.readFileSync(file);
  const check = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(() => decodeSafetensors(bytes, 'x.safetensors'), (e: unknown) => e instanceof UserError && re.test(e.message) && e.message.startsWith('x.safetensors: '));
  check(good.subarray(0, 5), /truncated safetensors file \(5 bytes, no header length\)/);
  check(good.subarray(0, 40), /truncated safetensors file \(header of \d+ bytes, the file has 40\)/);
  check(good.subarray(0, good.length - 1), /truncated safetensors file \(tensors need 40 data bytes, the file has 39\)/);
  check(Buffer.concat([good, Buffer.from([0])]), /1 bytes after the last tensor/);
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(1n << 40n, 0);
  check(huge, /not a safetensors file \(header length \d+ is implausible\)/);
  const broken = Buffer.from(good);
  broken[8] = 0x5b; // '[' where '{' was
  check(broken, /corrupt safetensors header/);
  await assert.rejects(readSafetensors(path.join(tmp, 'none.safetensors')), /none\.safetensors: no such file$/);
});

test('atomic writes: a failed write leaves the old file intact and no temporary file behind', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'atomic-'));
  const file = path.join(dir, 'model.safetensors');
  await writeSafetensors(file, sample(), { version: '1' });
  const before = fs.readFileSync(file);
  // Invalid input is refused before the file is touched.
  await assert.rejects(writeSafetensors(file, sample(), { steps: 3 as unknown as string }), /model\.safetensors: metadata 'steps' is a number/);
  const wrong = new Map([['w', { shape: [3], dtype: 'float32', data: new Float32Array(2) } as StateEntry]]);
  await assert.rejects(writeSafetensors(file, wrong), /tensor 'w' has shape \[3\] \(3 elements\) but 2 values/);
  // A failure in the middle of writing (after some bytes went to the temporary file).
  await assert.rejects(
    writeFileAtomic(file, async (write) => {
      await write(Buffer.alloc(1000, 1));
      throw new Error('disk full (simulated)');
    }),
    (e: unknown) => e instanceof UserError && e.message === `${file}: cannot write: disk full (simulated)`,
  );
  assert.ok(fs.readFileSync(file).equals(before), 'old file intact');
  assert.deepEqual(leftovers(dir), []);
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  // A successful overwrite replaces it whole.
  await writeSafetensors(file, new Map([['x', { shape: [1], dtype: 'float32', data: Float32Array.of(9) }]]), { version: '2' });
  const after = await readSafetensors(file);
  assert.deepEqual(after.metadata, { version: '2' });
  assert.deepEqual([...after.tensors.keys()], ['x']);
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
});
