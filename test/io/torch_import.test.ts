import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { UserError } from '../../lib/errors';
import type { StateDict } from '../../lib/nn/module';
import { parseTorchCheckpoint, readTorchCheckpoint, TorchTensor } from '../../lib/io/torch_import';
import { OpaqueObject, PickleWriter } from '../../lib/io/pickle';
import { buildZip } from '../../lib/io/zip';
import { repoRoot, sharedPath } from '../helpers';
import { findTorchPython, runTorchPython } from './torch_python';

const fixtures = path.join(repoRoot, 'test', 'io', 'fixtures');
const fixture = (name: string) => path.join(fixtures, name);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-torch-import-'));

interface ExpectedEntry { name: string; shape: number[]; dtype: 'float32' | 'int64'; values: Array<number | string> }
interface ExpectedFile { format: 'zip' | 'legacy'; wrapper: 'plain' | 'state_dict'; entries: ExpectedEntry[]; extra?: Record<string, unknown> }
const expected = JSON.parse(fs.readFileSync(fixture('expected.json'), 'utf8')) as Record<string, ExpectedFile>;

/** Every entry equal to torch's own values: names, order, shapes, dtypes, each element exactly. */
function assertMatches(sd: StateDict, want: ExpectedEntry[], file: string): void {
  assert.deepEqual([...sd.keys()], want.map((e) => e.name), `${file}: keys in order`);
  for (const e of want) {
    const got = sd.get(e.name)!;
    assert.deepEqual([...got.shape], e.shape, `${file} ${e.name}: shape`);
    assert.equal(got.dtype, e.dtype, `${file} ${e.name}: dtype`);
    const values = e.dtype === 'int64' ? e.values.map((v) => BigInt(v as string)) : e.values;
    assert.deepEqual([...got.data], values, `${file} ${e.name}: values`);
    assert.ok(got.dtype === 'int64' ? got.data instanceof BigInt64Array : got.data instanceof Float32Array);
  }
}

for (const file of ['mixed_zip.pt', 'mixed_legacy.pt', 'mixed_deflated.pt', 'module_zip.pt', 'wrapped_zip.pt', 'wrapped_legacy.pt', 'half_zip.pt']) {
  test(`${file}: every tensor equals torch's values (format ${expected[file].format}, ${expected[file].wrapper})`, async () => {
    const ck = await readTorchCheckpoint(fixture(file));
    assert.equal(ck.format, expected[file].format);
    assert.equal(ck.wrapper, expected[file].wrapper);
    assertMatches(ck.stateDict, expected[file].entries, file);
  });
}

test('mixed fixtures: views, shared storages, 0-d tensors and conversions come out as specified', async () => {
  for (const file of ['mixed_zip.pt', 'mixed_legacy.pt']) {
    const { stateDict: sd, notes } = await readTorchCheckpoint(fixture(file));
    const base = sd.get('view.base')!.data as Float32Array;
    // The slice base[1:3, 2:5] and the transpose, re-derived here from the base tensor.
    assert.deepEqual([...sd.get('view.slice')!.data], [base[8], base[9], base[10], base[14], base[15], base[16]]);
    const t = sd.get('view.transposed')!;
    assert.deepEqual(t.shape, [6, 4]);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) assert.equal(t.data[i * 4 + j], base[j * 6 + i]);
    assert.deepEqual([...sd.get('view.expand')!.data], [0, 1, 2, 0, 1, 2]);
    // Two names, one storage: equal values, separate arrays.
    const a = sd.get('body.0.quant_act2.alpha_upper')!, b = sd.get('body.0.body.2.alpha_upper')!;
    assert.deepEqual([...a.data], [...b.data]);
    assert.notEqual(a.data.buffer, b.data.buffer);
    assert.deepEqual(sd.get('bn.num_batches_tracked'), { shape: [], dtype: 'int64', data: BigInt64Array.of(7n) });
    assert.deepEqual([...sd.get('big.counter')!.data], [2n ** 62n + 1n, -(2n ** 40n) - 3n, 0n]);
    assert.deepEqual(sd.get('calib.max_val')!.shape, []);
    assert.equal(sd.get('calib.max_val')!.data[0], 2.375);
    assert.equal(sd.get('calib.min_val')!.data[0], Math.fround(-0.1));
    // float64 rounded to float32 (1e-40 becomes a float32 subnormal), with a note naming the tensor.
    assert.deepEqual([...sd.get('double.weight')!.data], [Math.fround(1 / 3), Math.fround(1e-40), Math.fround(3.4028235e38), -2.5]);
    assert.deepEqual([...sd.get('bool.mask')!.data], [1n, 0n, 1n]);
    assert.deepEqual(sd.get('empty.bias'), { shape: [0], dtype: 'float32', data: new Float32Array(0) });
    assert.deepEqual(notes, [
      'float64 -> float32 (rounded to nearest): double.weight',
      'int32 -> int64 (exact): int32.index',
      'bool -> int64 (exact): bool.mask',
    ]);
  }
});

test('wrapped checkpoints (model_best.pth.tar layout): state_dict plus epoch, optimizer, scheduler in extra', async () => {
  for (const file of ['wrapped_zip.pt', 'wrapped_legacy.pt']) {
    const ck = await readTorchCheckpoint(fixture(file));
    const want = expected[file].extra as Record<string, unknown>;
    const extra = ck.extra!;
    assert.deepEqual(Object.keys(extra), ['epoch', 'optimizer', 'scheduler', 'best_psnr', 'note', 'flags', 'args']);
    assert.equal(extra.epoch, want.epoch);
    assert.equal(extra.best_psnr, want.best_psnr);
    assert.equal(extra.note, null);
    assert.deepEqual([...(extra.flags as boolean[])], want.flags);
    assert.ok(Object.isFrozen(extra.flags), 'a tuple comes back frozen');
    const sched = extra.scheduler as Map<string, unknown>;
    for (const [k, v] of Object.entries(want.scheduler as Record<string, number>)) assert.equal(sched.get(k), v, `scheduler.${k}`);
    const opt = extra.optimizer as Map<string, unknown>;
    const group = (opt.get('param_groups') as Array<Map<string, unknown>>)[0];
    assert.equal(group.get('lr'), want.optimizer_lr);
    const state0 = (opt.get('state') as Map<number, Map<string, unknown>>).get(0)!;
    const step = state0.get('step') as TorchTensor;
    assert.ok(step instanceof TorchTensor, 'optimizer tensors stay lazy');
    assert.equal(Number(step.load('step').data[0]), want.optimizer_step);
    assert.deepEqual([...(state0.get('exp_avg') as TorchTensor).load('exp_avg').data], want.optimizer_exp_avg_0);
    // An unknown class is kept as data, never run.
    const args = extra.args as OpaqueObject;
    assert.ok(args instanceof OpaqueObject);
    assert.equal(args.global.qualifiedName, 'argparse.Namespace');
    assert.deepEqual([...(args.state as Map<string, unknown>)], [['scale', 4], ['model', 'EDSR']]);
  }
});

test('edsr8_x2.pt (zip) and edsr8_x2_legacy.pt (legacy) load to bit-identical tensors with reference.json shapes', async () => {
  const ref = JSON.parse(fs.readFileSync(sharedPath('weights', 'reference.json'), 'utf8'));
  const zip = await readTorchCheckpoint(sharedPath('weights', 'edsr8_x2.pt'));
  const legacy = await readTorchCheckpoint(sharedPath('weights', 'edsr8_x2_legacy.pt'));
  assert.equal(zip.format, 'zip');
  assert.equal(legacy.format, 'legacy');
  const keys = Object.keys(ref.models.x2.keys);
  assert.equal(keys.length, 44);
  assert.deepEqual([...zip.stateDict.keys()], keys);
  assert.deepEqual([...legacy.stateDict.keys()], keys);
  let params = 0;
  for (const k of keys) {
    const a = zip.stateDict.get(k)!, b = legacy.stateDict.get(k)!;
    assert.deepEqual(a.shape, ref.models.x2.keys[k], k);
    assert.deepEqual(b.shape, ref.models.x2.keys[k], k);
    assert.equal(a.dtype, 'float32');
    assert.ok(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), `${k}: same bits`);
    if (!k.includes('_mean')) params += a.data.length;
  }
  assert.equal(params, ref.models.x2.architecture.n_params);
});

test('edsr8_x4.pt loads with the shapes in reference.json', async () => {
  const ref = JSON.parse(fs.readFileSync(sharedPath('weights', 'reference.json'), 'utf8'));
  const ck = await readTorchCheckpoint(sharedPath('weights', 'edsr8_x4.pt'));
  const want = ref.models.x4.keys as Record<string, number[]>;
  assert.deepEqual([...ck.stateDict.keys()], Object.keys(want));
  for (const [k, shape] of Object.entries(want)) assert.deepEqual(ck.stateDict.get(k)!.shape, shape, k);
  assert.deepEqual(ck.stateDict.get('tail.0.2.weight')!.shape, [256, 64, 3, 3]);
});

test('edsr8_x4.pt: each tensor has the bytes torch.load gives (sha256 per tensor)', async (t) => {
  const py = findTorchPython();
  if (!('exe' in py)) return t.skip(py.reason);
  const file = sharedPath('weights', 'edsr8_x4.pt');
  const out = runTorchPython(py, [
    'import sys, json, hashlib, torch',
    'sd = torch.load(sys.argv[1], map_location="cpu")',
    'print(json.dumps({k: hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest() for k, v in sd.items()}))',
  ].join('\n'), [file]);
  const want = JSON.parse(out) as Record<string, string>;
  const ck = await readTorchCheckpoint(file);
  assert.deepEqual([...ck.stateDict.keys()], Object.keys(want));
  for (const [k, e] of ck.stateDict) {
    assert.equal(createHash('sha256').update(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength)).digest('hex'), want[k], k);
  }
});

// ---- errors -------------------------------------------------------------------------------------

async function rejects(bytes: Uint8Array, name: string, message: RegExp): Promise<void> {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  await assert.rejects(readTorchCheckpoint(file), (e: unknown) => {
    assert.ok(e instanceof UserError, `a UserError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${file}: `), `names the file: ${e.message}`);
    assert.match(e.message, message);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('truncated and corrupt checkpoints give one-line UserErrors naming the file and the problem', async () => {
  const zip = fs.readFileSync(fixture('mixed_zip.pt'));
  const legacy = fs.readFileSync(fixture('mixed_legacy.pt'));
  await rejects(zip.subarray(0, zip.length - 30), 'cut.pt', /: truncated zip \(central directory not found\)$/);
  await rejects(zip.subarray(0, 1000), 'cut_early.pt', /: truncated zip \(central directory not found\)$/);
  // One flipped byte inside a storage record fails its CRC.
  const names = fs.readFileSync(fixture('mixed_zip.pt')).toString('latin1');
  const rec = names.indexOf('ckpt_v1_export/data/0');
  const flipped = Buffer.from(zip);
  const dataStart = rec + 'ckpt_v1_export/data/0'.length;
  const local = flipped.readUInt16LE(rec - 2); // extra length of this local header
  flipped[dataStart + local + 3] ^= 0x40;
  await rejects(flipped, 'flip.pt', /: corrupt zip entry ckpt_v1_export\/data\/0 \(CRC mismatch\)$/);
  await rejects(legacy.subarray(0, legacy.length - 5), 'cut_legacy.pt', /: truncated legacy checkpoint \(storage '\d+' needs bytes \d+\.\.\d+, the file has \d+\)$/);
  await rejects(legacy.subarray(0, 400), 'cut_legacy_pickle.pt', /: truncated checkpoint \(pickle: data: stream ends at byte 400 inside/);
  await rejects(new Uint8Array(0), 'empty.pt', /: not a PyTorch checkpoint \(empty file\)$/);
  await rejects(Buffer.from('\x89PNG\r\n\x1a\n0000', 'latin1'), 'image.pt', /: not a PyTorch checkpoint \(starts with bytes 89 50 4e 47: neither a zip archive nor a pickle stream\)$/);
  await rejects(buildZip([{ name: 'x/readme.txt', data: Buffer.from('hi') }]), 'other.zip', /: not a PyTorch checkpoint \(a zip archive without a \*\/data\.pkl record; it holds x\/readme\.txt\)$/);
  // A pickle that is not torch's (a plain dict pickled with protocol 2).
  const notTorch = new PickleWriter().raw(0x7d).stop();
  await rejects(notTorch, 'plain.pkl', /: not a PyTorch checkpoint \(a pickle of dict, not torch's magic number\)$/);
  await assert.rejects(readTorchCheckpoint(path.join(tmp, 'missing.pt')), /missing\.pt: no such file$/);
});

/** A one-tensor zip checkpoint whose pickle is written by `body` (after the OrderedDict's MARK). */
function customCheckpoint(body: (p: PickleWriter) => void, storage = new Uint8Array(8)): Uint8Array {
  const p = new PickleWriter().global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  body(p);
  return buildZip([{ name: 'c/data.pkl', data: p.setitems().stop() }, { name: 'c/data/0', data: storage }, { name: 'c/version', data: Buffer.from('3\n') }]);
}

function tensorPickle(p: PickleWriter, storageClass: string, numel: number, shape: number[], stride: number[], offset = 0): void {
  p.global('torch._utils', '_rebuild_tensor_v2').mark();
  p.mark().str('storage').global('torch', storageClass).str('0').str('cpu').int(numel).tuple().binpersid();
  p.int(offset).intTuple(shape).intTuple(stride).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
}

test('unsupported dtypes, views outside their storage and non-tensor entries name the tensor', async () => {
  await rejects(customCheckpoint((p) => { p.str('q.weight'); tensorPickle(p, 'QUInt8Storage', 8, [8], [1]); }), 'quant.pt',
    /: tensor 'q\.weight' has storage type QUInt8Storage, which is not supported/);
  await rejects(customCheckpoint((p) => { p.str('v'); tensorPickle(p, 'FloatStorage', 2, [2, 2], [2, 1]); }), 'view.pt',
    /: tensor 'v': view \(offset 0, shape \[2,2\], strides \[2,1\]\) reads outside its storage of 2 elements$/);
  await rejects(customCheckpoint((p) => { p.str('w'); tensorPickle(p, 'FloatStorage', 4, [2], [1]); }, new Uint8Array(8)), 'short.pt',
    /: storage '0' holds 8 bytes, 16 needed for 4 float32 elements$/);
  await rejects(customCheckpoint((p) => { p.str('a'); tensorPickle(p, 'FloatStorage', 2, [2], [1]); p.str('epoch').int(3); }), 'mixed.pt',
    /: not a state dict: it holds entries that are not tensors: 'epoch' is a number \(and there is no 'state_dict' entry\)$/);
  await rejects(buildZip([{ name: 'm/data.pkl', data: new PickleWriter().global('model.edsr', 'EDSR').emptyTuple().reduce().stop() }]), 'model.pt',
    /: not a state dict: the checkpoint holds a model\.edsr\.EDSR object \(probably a whole pickled model: save model\.state_dict\(\) instead\)$/);
  // A custom 1-D strided view with an offset reads the right elements.
  const storage = new Float32Array([10, 11, 12, 13, 14, 15]);
  const ck = parseTorchCheckpoint(customCheckpoint((p) => { p.str('s'); tensorPickle(p, 'FloatStorage', 6, [2], [3], 1); }, new Uint8Array(storage.buffer)), 'mem');
  assert.deepEqual([...ck.stateDict.get('s')!.data], [11, 14]);
});

test('every truncation and every single-byte corruption of the small fixtures is a UserError or a clean load', () => {
  for (const file of ['mixed_zip.pt', 'mixed_legacy.pt', 'wrapped_legacy.pt']) {
    const bytes = fs.readFileSync(fixture(file));
    const outcome = (b: Uint8Array, what: string) => {
      try {
        parseTorchCheckpoint(b, file);
        return 'ok';
      } catch (e) {
        assert.ok(e instanceof UserError, `${file} ${what}: ${(e as Error).stack}`);
        assert.ok(e.message.startsWith(`${file}: `) && !e.message.includes('\n'), `${file} ${what}: ${e.message}`);
        return 'error';
      }
    };
    for (let n = 0; n < bytes.length; n++) assert.equal(outcome(bytes.subarray(0, n), `cut at ${n}`), 'error', `${file} cut at ${n}`);
    let errors = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = Buffer.from(bytes);
      b[i] ^= 0xff;
      if (outcome(b, `byte ${i} flipped`) === 'error') errors++;
    }
    assert.ok(errors > 0, `${file}: some corruptions are detected`);
  }
});

test('legacy storage views (pre-1.0 files): a view of elements 2..4 of a storage, and the root beside it', async (t) => {
  // Hand-built legacy stream: magic, protocol, sys_info, data pickle, storage keys, then the record.
  const data = new PickleWriter().global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  const pid = (view: boolean) => {
    data.mark().str('storage').global('torch', 'FloatStorage').str('root').str('cpu').int(6);
    if (view) data.mark().str('view1').int(2).int(3).tuple();
    else data.none();
    data.tuple().binpersid();
  };
  const rebuild = (view: boolean, offset: number, shape: number[], stride: number[]) => {
    data.global('torch._utils', '_rebuild_tensor_v2').mark();
    pid(view);
    data.int(offset).intTuple(shape).intTuple(stride).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  };
  data.str('view.tail');
  rebuild(true, 1, [2], [1]);
  data.str('root.strided');
  rebuild(false, 1, [2], [2]);
  const count = Buffer.alloc(8);
  count.writeBigInt64LE(6n);
  const bytes = Buffer.concat([
    new PickleWriter().int(0x1950a86a20f9469cfc6cn).stop(),
    new PickleWriter().int(1001).stop(),
    new PickleWriter().raw(0x7d).mark().str('protocol_version').int(1001).str('little_endian').bool(true).setitems().stop(),
    data.setitems().stop(),
    new PickleWriter().raw(0x5d).mark().str('root').raw(0x65).stop(),
    count,
    Buffer.from(Float32Array.from([10, 11, 12, 13, 14, 15]).buffer),
  ]);
  const file = path.join(tmp, 'legacy_view.pt');
  fs.writeFileSync(file, bytes);
  const ck = await readTorchCheckpoint(file);
  assert.equal(ck.format, 'legacy');
  assert.deepEqual([...ck.stateDict.get('view.tail')!.data], [13, 14], 'view starts at element 2, tensor offset 1');
  assert.deepEqual([...ck.stateDict.get('root.strided')!.data], [11, 13]);
  const py = findTorchPython();
  if (!('exe' in py)) return t.skip(`torch cross-check: ${py.reason}`);
  const out = runTorchPython(py, 'import sys, json, torch\nsd = torch.load(sys.argv[1])\nprint(json.dumps({k: v.tolist() for k, v in sd.items()}))', [file]);
  assert.deepEqual(JSON.parse(out), { 'view.tail': [13, 14], 'root.strided': [11, 13] }, 'torch.load agrees');
});
