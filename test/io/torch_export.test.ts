import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { UserError } from '../../lib/errors';
import type { StateDict, StateEntry } from '../../lib/nn/module';
import { Conv2d } from '../../lib/nn/conv';
import { readTorchCheckpoint } from '../../lib/io/torch_import';
import { archiveNameFor, writeTorchStateDict } from '../../lib/io/torch_export';
import { ZipReader } from '../../lib/io/zip';
import { sharedPath } from '../helpers';
import { findTorchPython, runTorchPython } from './torch_python';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-torch-export-'));

const f32 = (shape: number[], values: number[]): StateEntry => ({ shape, dtype: 'float32', data: Float32Array.from(values) });
const i64 = (shape: number[], values: bigint[]): StateEntry => ({ shape, dtype: 'int64', data: BigInt64Array.from(values) });

/** float32 and int64, 4-D to 0-d and empty, special values included. */
function sample(): StateDict {
  return new Map([
    ['head.0.weight', f32([2, 1, 2, 2], [0.1, -0, 1e-45, 3.4028234663852886e38, -Infinity, NaN, 7, -7.25])],
    ['head.0.bias', f32([2], [0.5, -1.5])],
    ['body.0.quant_act1.max_val', f32([], [2.375])],
    ['body.0.gate.atten_c.2.num_batches_tracked', i64([], [12345678901234n])],
    ['counters', i64([3], [2n ** 62n + 1n, -1n, 0n])],
    ['empty.bias', f32([0], [])],
    ['0', f32([1], [42])],
  ]);
}

function bytesOf(e: StateEntry): Buffer {
  return Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
}

function assertSameStateDict(got: StateDict, want: StateDict, what: string): void {
  assert.deepEqual([...got.keys()], [...want.keys()], `${what}: keys in order`);
  for (const [k, w] of want) {
    const g = got.get(k)!;
    assert.deepEqual([...g.shape], [...w.shape], `${what} ${k}: shape`);
    assert.equal(g.dtype, w.dtype, `${what} ${k}: dtype`);
    assert.ok(bytesOf(g).equals(bytesOf(w)), `${what} ${k}: same bits`);
  }
}

test('writeTorchStateDict round trip through our reader: names, order, shapes, dtypes and bits', async () => {
  const file = path.join(tmp, 'sample.pt');
  await writeTorchStateDict(file, sample());
  const ck = await readTorchCheckpoint(file);
  assert.equal(ck.format, 'zip');
  assert.equal(ck.wrapper, 'plain');
  assertSameStateDict(ck.stateDict, sample(), 'sample');
  const names = new ZipReader(fs.readFileSync(file)).names();
  assert.deepEqual(names.slice(0, 2), ['sample/data.pkl', 'sample/data/0']);
  assert.equal(names[names.length - 1], 'sample/version');
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.includes('.tmp-')), [], 'no temporary files left');
  assert.equal(archiveNameFor('out/my model.best.pth'), 'my_model.best');
});

test('the real edsr8_x2.pt survives read -> write -> read bit for bit', async () => {
  const orig = await readTorchCheckpoint(sharedPath('weights', 'edsr8_x2.pt'));
  const file = path.join(tmp, 'edsr8_x2_copy.pt');
  await writeTorchStateDict(file, orig.stateDict);
  assertSameStateDict((await readTorchCheckpoint(file)).stateDict, orig.stateDict, 'edsr8_x2');
});

test('bad entries are refused before anything is written, naming the file and the tensor', async () => {
  const file = path.join(tmp, 'bad.pt');
  fs.writeFileSync(file, 'old content');
  const bad = new Map([['w', { shape: [2, 2], dtype: 'float32', data: new Float32Array(3) } as StateEntry]]);
  await assert.rejects(writeTorchStateDict(file, bad), (e: unknown) => e instanceof UserError && e.message === `${file}: 'w' has shape [2,2] (4 elements) but 3 values`);
  const mixed = new Map([['n', { shape: [1], dtype: 'int64', data: new Float32Array(1) } as unknown as StateEntry]]);
  await assert.rejects(writeTorchStateDict(file, mixed), /'n' is int64 but its data is a Float32Array/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'old content');
});

test('torch.load reads our files: every tensor, a conv forward, and torch re-saves we read back', async (t) => {
  const py = findTorchPython();
  if (!('exe' in py)) return t.skip(py.reason);
  ensureBackend();
  const sampleFile = path.join(tmp, 'for_torch.pt');
  await writeTorchStateDict(sampleFile, sample());
  const edsrOrig = sharedPath('weights', 'edsr8_x2.pt');
  const edsrCopy = path.join(tmp, 'edsr_for_torch.pt');
  await writeTorchStateDict(edsrCopy, (await readTorchCheckpoint(edsrOrig)).stateDict);
  // A real module's state dict (OIHW at the boundary): torch's conv2d must agree with our forward.
  const rng = { s: 1, nextFloat() { this.s = (this.s * 16807) % 2147483647; return this.s / 2147483647; } };
  const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernel: 3, bias: true }, rng);
  const convFile = path.join(tmp, 'conv.pt');
  await writeTorchStateDict(convFile, conv.stateDict());
  const input = Float32Array.from({ length: 1 * 5 * 6 * 3 }, (_, i) => Math.sin(i) * 2);
  const ours = tf.tidy(() => conv.forward(tf.tensor4d(input, [1, 5, 6, 3])).dataSync() as Float32Array); // NHWC
  conv.dispose();
  const legacyOut = path.join(tmp, 'resaved_legacy.pt');
  const zipOut = path.join(tmp, 'resaved_zip.pt');
  const out = runTorchPython(py, `
import sys, json, torch
from collections import OrderedDict
sample, edsr_orig, edsr_copy, conv_file, legacy_out, zip_out, x = sys.argv[1:8]
sd = torch.load(sample)
assert type(sd) is OrderedDict, type(sd)
report = {'sample': [[k, str(v.dtype), list(v.shape), v.contiguous().numpy().tobytes().hex()] for k, v in sd.items()]}
a, b = torch.load(edsr_orig), torch.load(edsr_copy)
report['edsr_equal'] = list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
c = torch.load(conv_file)
inp = torch.tensor(json.loads(x), dtype=torch.float32).view(1, 5, 6, 3).permute(0, 3, 1, 2)
y = torch.nn.functional.conv2d(inp, c['weight'], c['bias'], padding=1)
report['conv'] = y.permute(0, 2, 3, 1).reshape(-1).tolist()
torch.save(sd, legacy_out, _use_new_zipfile_serialization=False)
torch.save({'epoch': 3, 'state_dict': sd}, zip_out)
print(json.dumps(report))
`, [sampleFile, edsrOrig, edsrCopy, convFile, legacyOut, zipOut, JSON.stringify([...input])]);
  const report = JSON.parse(out) as { sample: Array<[string, string, number[], string]>; edsr_equal: boolean; conv: number[] };
  const want = sample();
  assert.deepEqual(report.sample.map((r) => r[0]), [...want.keys()]);
  for (const [name, dtype, shape, hex] of report.sample) {
    const e = want.get(name)!;
    assert.equal(dtype, e.dtype === 'float32' ? 'torch.float32' : 'torch.int64', name);
    assert.deepEqual(shape, [...e.shape], name);
    assert.equal(hex, bytesOf(e).toString('hex'), `${name}: torch sees the same bits`);
  }
  assert.equal(report.edsr_equal, true, 'torch: exported EDSR equals the original, key by key');
  // Same float32 conv, different summation order: a few ulps of the output scale.
  assert.equal(report.conv.length, ours.length);
  let maxDiff = 0;
  for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - report.conv[i]));
  assert.ok(maxDiff < 1e-5, `conv forward through torch matches ours (max |diff| ${maxDiff})`);
  const legacy = await readTorchCheckpoint(legacyOut);
  assert.equal(legacy.format, 'legacy');
  assertSameStateDict(legacy.stateDict, want, 'torch re-save (legacy)');
  const wrapped = await readTorchCheckpoint(zipOut);
  assert.equal(wrapped.wrapper, 'state_dict');
  assert.equal(wrapped.extra?.epoch, 3);
  assertSameStateDict(wrapped.stateDict, want, 'torch re-save (zip, wrapped)');
});
