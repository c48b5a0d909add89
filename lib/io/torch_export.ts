/**
 * Writes a `StateDict` as a PyTorch checkpoint that `torch.load` reads (the zip format of PyTorch >= 1.6,
 * file format version 3), under the official names, so a model trained here can be evaluated with the
 * official PyTorch code.
 *
 * Layout of the archive (folder `<stem>/`: the file name without its last extension, as torch.save
 * does, with characters other than letters, digits, `_`, `-` and `.` replaced by `_`):
 *   `<stem>/data.pkl`   protocol-2 pickle of a `collections.OrderedDict` name -> tensor, each tensor a
 *                       `torch._utils._rebuild_tensor_v2(storage, 0, size, contiguous stride, False, OrderedDict())`
 *                       whose storage is the persistent id ('storage', torch.FloatStorage | torch.LongStorage,
 *                       '<i>', 'cpu', numel)
 *   `<stem>/data/<i>`   tensor i's elements, row-major, little-endian, stored (not compressed), 64-byte aligned
 *   `<stem>/version`    `3`
 * Every tensor gets its own storage (entries that alias each other in PyTorch come back as equal copies).
 * float32 and int64 entries, any rank including 0-d, are supported.
 */
import * as path from 'path';
import { UserError } from '../errors';
import type { StateDict, StateEntry } from '../nn/module';
import { writeBytesAtomic } from './atomic_write';
import { contiguousStrides, entryBytesLE } from './dtypes';
import { PickleWriter } from './pickle';
import { buildZip, ZipInput } from './zip';

/** Writes `stateDict` to `file` atomically as a torch.load-able zip checkpoint. */
export async function writeTorchStateDict(file: string, stateDict: StateDict): Promise<void> {
  const bytes = encodeTorchStateDict(stateDict, archiveNameFor(file), file);
  await writeBytesAtomic(file, bytes);
}

/** The zip folder name torch.save would use for `file`. */
export function archiveNameFor(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const clean = stem.replace(/[^A-Za-z0-9_.-]/g, '_');
  return clean || 'archive';
}

/** The checkpoint's bytes. `source` names the destination in error messages. */
export function encodeTorchStateDict(stateDict: StateDict, archiveName = 'archive', source = 'state dict'): Uint8Array {
  const p = new PickleWriter();
  p.global('collections', 'OrderedDict').emptyTuple().reduce();
  const records: ZipInput[] = [];
  if (stateDict.size) p.mark();
  let i = 0;
  for (const [name, entry] of stateDict) {
    checkEntry(name, entry, source);
    const key = String(i++);
    const numel = entry.data.length;
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2').mark();
    p.mark().str('storage').global('torch', entry.dtype === 'float32' ? 'FloatStorage' : 'LongStorage').str(key).str('cpu').int(numel).tuple().binpersid();
    p.int(0).intTuple(entry.shape).intTuple(contiguousStrides(entry.shape)).bool(false);
    p.global('collections', 'OrderedDict').emptyTuple().reduce();
    p.tuple().reduce();
    records.push({ name: `${archiveName}/data/${key}`, data: entryBytesLE(entry) });
  }
  if (stateDict.size) p.setitems();
  const pkl = p.stop();
  return buildZip([
    { name: `${archiveName}/data.pkl`, data: pkl },
    ...records,
    { name: `${archiveName}/version`, data: Buffer.from('3\n') },
  ]);
}

function checkEntry(name: string, e: StateEntry, source: string): void {
  if (e.dtype !== 'float32' && e.dtype !== 'int64') throw new UserError(`${source}: '${name}' has dtype ${String(e.dtype)}; only float32 and int64 are written`);
  const okData = e.dtype === 'float32' ? e.data instanceof Float32Array : e.data instanceof BigInt64Array;
  if (!okData) throw new UserError(`${source}: '${name}' is ${e.dtype} but its data is a ${e.data.constructor.name}`);
  if (!e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new UserError(`${source}: '${name}' has an invalid shape [${e.shape.join(',')}]`);
  const n = e.shape.reduce((a, b) => a * b, 1);
  if (n !== e.data.length) throw new UserError(`${source}: '${name}' has shape [${e.shape.join(',')}] (${n} elements) but ${e.data.length} values`);
}
