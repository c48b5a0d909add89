/**
 * Reads PyTorch checkpoints (`torch.save` files) in TypeScript, without Python, into a `StateDict`
 * in the official layout (row-major, NCHW / OIHW exactly as stored; the HWIO conversion happens in
 * `Module.loadStateDict`).
 *
 * Formats:
 * - zip (PyTorch >= 1.6): `<prefix>/data.pkl` holds the object, `<prefix>/data/<key>` each storage's raw
 *   little-endian bytes. The prefix is the saved file's stem, or `archive`, or anything else: the
 *   reader looks for the `data.pkl` record rather than assuming a name.
 * - legacy (PyTorch < 1.6, e.g. the 2018 official EDSR files): five things in a row, a pickle of the
 *   magic number, a pickle of the protocol version (1001), a pickle of sys_info, the data pickle, a
 *   pickle of the list of storage keys; then each storage in that order as an int64 element count
 *   followed by the raw bytes.
 *
 * Tensors (`torch._utils._rebuild_tensor_v2`, `_rebuild_tensor`, `_rebuild_parameter`) are views of a
 * storage (offset and strides): each is gathered into its own row-major copy, so keys sharing one
 * storage (DDTB's `quant_act2` alias, a slice and its base) come out as separate, equal arrays. The
 * dtype comes from the storage class (`torch.FloatStorage` ...); see `dtypes.ts` for conversions
 * (float64 rounds to float32 and float16 / bfloat16 / smaller ints widen, each with a note).
 *
 * Top level: a plain state dict (an OrderedDict or dict of tensors), or a dict with a `state_dict`
 * entry (the official DDTB `model_best.pth.tar`: epoch, state_dict, optimizer, scheduler); its other
 * entries are returned in `extra` as plain values (see pickle.ts for the mapping), with tensors as
 * lazy `TorchTensor`s and unknown classes as `OpaqueObject`s. Nothing in the file is executed.
 */
import * as fs from 'fs';
import { UserError } from '../errors';
import type { StateDict, StateEntry } from '../nn/module';
import { ELEMENT_BYTES, SourceDtype, conversionNotes, decodeStorage, gather, importedDtype, isConverted, viewIndices } from './dtypes';
import { OpaqueObject, PickleCallable, PickleError, PickleGlobal, PickleValue, describe, unpickle } from './pickle';
import { ZipError, ZipReader, looksLikeZip } from './zip';

export interface TorchCheckpoint {
  /** Tensors by their official names, in the file's order. */
  readonly stateDict: StateDict;
  readonly format: 'zip' | 'legacy';
  /** `plain`: the file is the state dict. `state_dict`: a dict whose `state_dict` entry is. */
  readonly wrapper: 'plain' | 'state_dict';
  /** The wrapper's other top-level entries (epoch, optimizer, ...), when wrapped. */
  readonly extra?: Record<string, unknown>;
  /** One line per kind of dtype conversion, naming the tensors (empty when nothing was converted). */
  readonly notes: string[];
}

/** A pickled storage reference: `numel` elements of `dtype` starting at element `base` of record `key`. */
class StorageRef {
  constructor(
    readonly key: string,
    /** The class name as pickled (`FloatStorage`). */
    readonly storageClass: string,
    /** Elements in the whole stored record. */
    readonly rootNumel: number,
    /** Offset and length (elements) of this storage inside the record (legacy storage views). */
    readonly base: number,
    readonly numel: number,
  ) {}
  get dtype(): SourceDtype | undefined {
    return STORAGE_CLASSES[this.storageClass]?.dtype;
  }
}

/** Raised inside the reader for a malformed checkpoint; becomes a UserError naming the file. */
class FormatError extends Error {}

/**
 * A tensor as pickled: a view into a storage. `load()` gathers it into a StateEntry (row-major copy).
 * Tensors outside the state dict (an optimizer's moments) stay lazy until someone asks for them.
 */
export class TorchTensor {
  constructor(
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly storageOffset: number,
    private readonly storage: StorageRef,
    private readonly source: StorageSource,
  ) {}

  /** The storage class name as pickled, e.g. `FloatStorage`. */
  get storageClass(): string {
    return this.storage.storageClass;
  }

  /**
   * The data in row-major order as float32 or int64 (see dtypes.ts for the conversions). Throws a
   * UserError naming the file and `name` for an unsupported dtype or a view outside its storage.
   */
  load(name = 'tensor'): StateEntry {
    try {
      return this.gatherEntry(name);
    } catch (e) {
      if (e instanceof FormatError) throw new UserError(`${this.source.file}: ${e.message}`);
      throw e;
    }
  }

  private gatherEntry(name: string): StateEntry {
    const { storage } = this;
    if (!storage.dtype) {
      throw new FormatError(`tensor '${name}' has storage type ${storage.storageClass}, which is not supported (float32/64/16, bfloat16, int64/32/16/8, uint8 and bool are)`);
    }
    const elements = this.source.elements(storage.key, storage.dtype, storage.rootNumel);
    let indices: Int32Array | null;
    try {
      indices = viewIndices(this.shape, this.stride, this.storageOffset, storage.numel);
    } catch (e) {
      throw new FormatError(`tensor '${name}': ${(e as Error).message}`);
    }
    const n = this.shape.reduce((a, b) => a * b, 1);
    const offset = storage.base + this.storageOffset;
    if (indices && storage.base) for (let i = 0; i < indices.length; i++) indices[i] += storage.base;
    return { shape: [...this.shape], dtype: importedDtype(storage.dtype), data: gather(elements, storage.dtype, indices, offset, n) };
  }
}

/** Raw storage records, decoded on first use and cached by key and dtype. */
class StorageSource {
  private readonly cache = new Map<string, ReturnType<typeof decodeStorage>>();
  constructor(
    /** The checkpoint's file name, for error messages. */
    readonly file: string,
    private readonly bytesOf: (key: string) => Uint8Array,
    private readonly byteOrder: 'little' | 'big',
  ) {}

  elements(key: string, dtype: SourceDtype, numel: number): ReturnType<typeof decodeStorage> {
    const id = `${key}:${dtype}`;
    let e = this.cache.get(id);
    if (!e) {
      const bytes = this.bytesOf(key);
      const need = numel * ELEMENT_BYTES[dtype];
      if (bytes.length < need) throw new FormatError(`storage '${key}' holds ${bytes.length} bytes, ${need} needed for ${numel} ${dtype} elements`);
      e = decodeStorage(bytes, dtype, numel, this.byteOrder);
      this.cache.set(id, e);
    }
    return e;
  }
}

/** Storage classes by name: the element type read, or only the element size (to skip in legacy files). */
const STORAGE_CLASSES: Record<string, { dtype?: SourceDtype; bytes: number }> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
  ComplexFloatStorage: { bytes: 8 },
  ComplexDoubleStorage: { bytes: 16 },
  QUInt8Storage: { bytes: 1 },
  QInt8Storage: { bytes: 1 },
  QInt32Storage: { bytes: 4 },
  QUInt4x2Storage: { bytes: 1 },
  QUInt2x4Storage: { bytes: 1 },
};

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

// ---- entry points -----------------------------------------------------------------------------

/** Reads a `.pt` / `.pth` / `.pth.tar` file. Errors are one-line UserErrors naming `file`. */
export async function readTorchCheckpoint(file: string): Promise<TorchCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`);
    if (code === 'EISDIR') throw new UserError(`${file}: is a folder, not a checkpoint file`);
    throw new UserError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parseTorchCheckpoint(bytes, file);
}

/** Parses checkpoint bytes; `source` names the file in error messages. */
export function parseTorchCheckpoint(bytes: Uint8Array, source: string): TorchCheckpoint {
  try {
    const { root, format, hint } = openArchive(bytes, source);
    return toCheckpoint(root, format, hint);
  } catch (e) {
    if (e instanceof UserError) throw e;
    if (e instanceof FormatError || e instanceof ZipError) throw new UserError(`${source}: ${e.message}`);
    if (e instanceof PickleError) {
      throw new UserError(`${source}: ${e.truncated ? 'truncated' : 'corrupt'} checkpoint (pickle: ${e.message})`);
    }
    throw e;
  }
}

// ---- container formats ------------------------------------------------------------------------

interface Opened {
  readonly root: PickleValue;
  readonly format: 'zip' | 'legacy';
  /** Extra words for a "not a state dict" error (a TorchScript archive, say). */
  readonly hint: string;
}

function openArchive(bytes: Uint8Array, file: string): Opened {
  if (bytes.length === 0) throw new FormatError('not a PyTorch checkpoint (empty file)');
  if (looksLikeZip(bytes)) return openZip(bytes, file);
  if (bytes[0] === 0x80) return openLegacy(bytes, file);
  if (bytes.length > 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar') {
    throw new FormatError('not a supported PyTorch checkpoint (a tar archive: the pre-0.1.10 format; re-save it with a newer PyTorch)');
  }
  const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new FormatError(`not a PyTorch checkpoint (starts with bytes ${head}: neither a zip archive nor a pickle stream)`);
}

function openZip(bytes: Uint8Array, file: string): Opened {
  const zip = new ZipReader(bytes);
  const names = zip.names();
  const pkls = names.filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (pkls.length === 0) {
    throw new FormatError(`not a PyTorch checkpoint (a zip archive without a */data.pkl record; it holds ${names.slice(0, 4).join(', ') || 'nothing'}${names.length > 4 ? ', ...' : ''})`);
  }
  // torch reads the folder of the archive's first entry; prefer that, then the shallowest.
  const first = names[0].slice(0, names[0].indexOf('/') + 1);
  const pkl = pkls.find((n) => n === `${first}data.pkl`) ?? [...pkls].sort((a, b) => a.length - b.length)[0];
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  let byteOrder: 'little' | 'big' = 'little';
  if (zip.has(`${prefix}byteorder`)) {
    const order = Buffer.from(zip.read(`${prefix}byteorder`)).toString('latin1').trim();
    if (order !== 'little' && order !== 'big') throw new FormatError(`unknown byte order '${order}' in ${prefix}byteorder`);
    byteOrder = order;
  }
  const source = new StorageSource(file, (key) => {
    const name = `${prefix}data/${key}`;
    if (!zip.has(name)) throw new FormatError(`storage record ${name} is missing from the zip archive`);
    return zip.read(name);
  }, byteOrder);
  const refs = new Map<string, StorageRef>();
  const root = unpickle(zip.read(pkl), {
    globals: torchGlobals(source),
    persistentLoad: (pid) => zipStorage(pid, refs),
  }).value;
  const hint = zip.has(`${prefix}constants.pkl`) ? ' (a TorchScript archive from torch.jit.save; save model.state_dict() with torch.save instead)' : '';
  return { root, format: 'zip', hint };
}

/** ('storage', storage class, key, location, numel) */
function zipStorage(pid: PickleValue, refs: Map<string, StorageRef>): StorageRef {
  const t = tupleOf(pid, 'persistent id');
  if (t[0] !== 'storage' || t.length < 5) throw new FormatError(`unknown persistent id ${describe(pid)} (expected a ('storage', ...) tuple)`);
  const cls = storageClassOf(t[1]);
  const key = String(t[2]);
  const numel = nonNegativeInt(t[4], 'storage size');
  return remember(refs, new StorageRef(key, cls, numel, 0, numel));
}

function openLegacy(bytes: Uint8Array, file: string): Opened {
  let pos = 0;
  const next = (what: string, hooks: Parameters<typeof unpickle>[1] = {}) => {
    try {
      const r = unpickle(bytes, hooks, pos);
      pos = r.end;
      return r.value;
    } catch (e) {
      if (e instanceof PickleError && what === 'magic number') {
        throw new FormatError(`not a PyTorch checkpoint (starts like a pickle, but ${e.message})`);
      }
      if (e instanceof PickleError) throw new PickleError(`${what}: ${e.message}`, e.truncated);
      throw e;
    }
  };
  const magic = next('magic number');
  if (magic !== LEGACY_MAGIC) throw new FormatError(`not a PyTorch checkpoint (a pickle of ${describe(magic)}, not torch's magic number)`);
  const protocol = next('protocol version');
  if (protocol !== LEGACY_PROTOCOL) throw new FormatError(`unsupported legacy protocol version ${String(protocol)} (expected ${LEGACY_PROTOCOL})`);
  const sysInfo = next('sys_info');
  const littleEndian = sysInfo instanceof Map ? sysInfo.get('little_endian') !== false : true;

  const refs = new Map<string, StorageRef>();
  const records = new Map<string, Uint8Array>();
  const source = new StorageSource(file, (key) => {
    const r = records.get(key);
    if (!r) throw new FormatError(`storage '${key}' is not in the legacy storage list`);
    return r;
  }, littleEndian ? 'little' : 'big');
  const root = next('data', { globals: torchGlobals(source), persistentLoad: (pid) => legacyStorage(pid, refs) });
  const keys = next('storage keys');
  if (!Array.isArray(keys)) throw new FormatError(`corrupt legacy checkpoint (the storage key list is a ${describe(keys)})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const k of keys as PickleValue[]) {
    const key = String(k);
    const ref = refs.get(key);
    if (!ref) throw new FormatError(`corrupt legacy checkpoint (storage '${key}' is listed but no tensor uses it)`);
    const size = STORAGE_CLASSES[ref.storageClass]?.bytes;
    if (!size) throw new FormatError(`storage '${key}' has type ${ref.storageClass}, whose element size is unknown`);
    if (pos + 8 > bytes.length) throw new FormatError(`truncated legacy checkpoint (the header of storage '${key}' at byte ${pos} is past the end, ${bytes.length} bytes)`);
    const count = view.getBigInt64(pos, true);
    if (count !== BigInt(ref.rootNumel)) {
      throw new FormatError(`corrupt legacy checkpoint (storage '${key}' at byte ${pos} says ${count} elements, the pickle says ${ref.rootNumel})`);
    }
    const start = pos + 8;
    const end = start + ref.rootNumel * size;
    if (end > bytes.length) {
      throw new FormatError(`truncated legacy checkpoint (storage '${key}' needs bytes ${start}..${end}, the file has ${bytes.length})`);
    }
    records.set(key, bytes.subarray(start, end));
    pos = end;
  }
  return { root, format: 'legacy', hint: '' };
}

/** ('storage', storage class, root key, location, root numel, view metadata (key, offset, numel) | None) */
function legacyStorage(pid: PickleValue, refs: Map<string, StorageRef>): StorageRef {
  const t = tupleOf(pid, 'persistent id');
  if (t[0] !== 'storage' || t.length < 6) throw new FormatError(`unknown persistent id ${describe(pid)} (expected a ('storage', ...) tuple)`);
  const cls = storageClassOf(t[1]);
  const key = String(t[2]);
  const rootNumel = nonNegativeInt(t[4], 'storage size');
  const root = remember(refs, new StorageRef(key, cls, rootNumel, 0, rootNumel));
  if (t[5] === null) return root;
  const v = tupleOf(t[5], 'storage view');
  const base = nonNegativeInt(v[1], 'storage view offset');
  const numel = nonNegativeInt(v[2], 'storage view size');
  if (base + numel > rootNumel) throw new FormatError(`storage view ${String(v[0])} (${base}+${numel}) exceeds storage '${key}' (${rootNumel} elements)`);
  return new StorageRef(key, cls, rootNumel, base, numel);
}

/** Records the first description of each storage record (the legacy reader needs its size). */
function remember(refs: Map<string, StorageRef>, ref: StorageRef): StorageRef {
  const old = refs.get(ref.key);
  const bytes = (r: StorageRef) => r.rootNumel * (STORAGE_CLASSES[r.storageClass]?.bytes ?? 0);
  if (old && bytes(old) !== bytes(ref)) throw new FormatError(`storage '${ref.key}' is described twice with different sizes`);
  if (!old) refs.set(ref.key, ref);
  return ref;
}

// ---- the torch globals the unpickler may build ----------------------------------------------

function torchGlobals(source: StorageSource): Map<string, PickleValue> {
  const g = new Map<string, PickleValue>();
  const add = (module: string, name: string, call: (args: readonly PickleValue[]) => PickleValue) =>
    g.set(`${module} ${name}`, new PickleCallable(`${module}.${name}`, call));

  const tensor = (args: readonly PickleValue[], what: string): TorchTensor => {
    const storage = args[0];
    if (!(storage instanceof StorageRef)) throw new FormatError(`${what}: the first argument is a ${describe(storage)}, not a storage`);
    const offset = nonNegativeInt(args[1], `${what} storage offset`);
    const shape = tupleOf(args[2], `${what} size`).map((d) => nonNegativeInt(d, `${what} size`));
    const stride = tupleOf(args[3], `${what} stride`).map((d) => int(d, `${what} stride`));
    if (stride.length !== shape.length) throw new FormatError(`${what}: ${shape.length} sizes but ${stride.length} strides`);
    return new TorchTensor(shape, stride, offset, storage, source);
  };
  add('torch._utils', '_rebuild_tensor_v2', (a) => tensor(a, '_rebuild_tensor_v2'));
  add('torch._utils', '_rebuild_tensor', (a) => tensor(a, '_rebuild_tensor'));
  const parameter = (a: readonly PickleValue[]) => a[0] ?? null;
  add('torch._utils', '_rebuild_parameter', parameter);
  add('torch._utils', '_rebuild_parameter_with_state', parameter);
  const fromType = (a: readonly PickleValue[]) => {
    const fn = a[0];
    const args = a[2];
    return fn instanceof PickleCallable && Array.isArray(args) ? fn.call(args as PickleValue[]) : new OpaqueObject(new PickleGlobal('torch._tensor', '_rebuild_from_type_v2'), a);
  };
  add('torch._tensor', '_rebuild_from_type_v2', fromType);
  add('torch._tensor', '_rebuild_from_type', fromType);
  add('collections', 'OrderedDict', (a) => {
    const m = new Map<PickleValue, PickleValue>();
    const items = a[0];
    if (Array.isArray(items)) {
      for (const kv of items as PickleValue[]) {
        const pair = tupleOf(kv, 'OrderedDict item');
        m.set(pair[0], pair[1] ?? null);
      }
    }
    return m;
  });
  add('torch', 'Size', (a) => (Array.isArray(a[0]) ? Object.freeze([...(a[0] as PickleValue[])]) : Object.freeze([])));
  return g;
}

function storageClassOf(v: PickleValue): string {
  if (v instanceof PickleGlobal && (v.module === 'torch' || v.module === 'torch.cuda')) return v.name;
  if (v instanceof PickleGlobal) return v.qualifiedName;
  if (typeof v === 'string') return v;
  throw new FormatError(`storage type is a ${describe(v)}, not a torch storage class`);
}

// ---- validation helpers -----------------------------------------------------------------------

function tupleOf(v: PickleValue, what: string): readonly PickleValue[] {
  if (!Array.isArray(v)) throw new FormatError(`${what} is a ${describe(v)}, not a tuple`);
  return v as readonly PickleValue[];
}

function int(v: PickleValue, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new FormatError(`${what} is ${describe(v)} ${String(v)}, not an integer`);
  return v;
}

function nonNegativeInt(v: PickleValue, what: string): number {
  const n = int(v, what);
  if (n < 0) throw new FormatError(`${what} is negative (${n})`);
  return n;
}

// ---- from the unpickled object to a state dict ----------------------------------------------

function toCheckpoint(root: PickleValue, format: 'zip' | 'legacy', hint: string): TorchCheckpoint {
  if (!(root instanceof Map)) throw new FormatError(`not a state dict: the checkpoint holds a ${describe(root)}${hint || wholeModelHint(root)}`);
  const inner = root.get('state_dict');
  const wrapped = inner instanceof Map;
  const dict = wrapped ? (inner as Map<PickleValue, PickleValue>) : root;
  const tensors = new Map<string, TorchTensor>();
  const wrong: string[] = [];
  for (const [k, v] of dict) {
    if (typeof k !== 'string') wrong.push(`key ${String(k)} (${describe(k)})`);
    else if (v instanceof TorchTensor) tensors.set(k, v);
    else wrong.push(`'${k}' is a ${describe(v)}`);
  }
  if (wrong.length) {
    const where = wrapped ? "its 'state_dict' entry" : 'it';
    const shown = wrong.slice(0, 5).join(', ') + (wrong.length > 5 ? `, ... (${wrong.length - 5} more)` : '');
    throw new FormatError(`not a state dict: ${where} holds entries that are not tensors: ${shown}${wrapped ? '' : " (and there is no 'state_dict' entry)"}`);
  }
  const stateDict: StateDict = new Map();
  const converted = new Map<SourceDtype, string[]>();
  for (const [name, t] of tensors) {
    const entry = t.load(name);
    stateDict.set(name, entry);
    const dtype = STORAGE_CLASSES[t.storageClass]?.dtype;
    if (dtype && isConverted(dtype)) converted.set(dtype, [...(converted.get(dtype) ?? []), name]);
  }
  const notes = conversionNotes(converted);
  if (!wrapped) return { stateDict, format, wrapper: 'plain', notes };
  const extra: Record<string, unknown> = {};
  for (const [k, v] of root) if (k !== 'state_dict') extra[String(k)] = v;
  return { stateDict, format, wrapper: 'state_dict', extra, notes };
}

function wholeModelHint(root: PickleValue): string {
  if (root instanceof OpaqueObject && !root.global.module.startsWith('torch')) {
    return ' (probably a whole pickled model: save model.state_dict() instead)';
  }
  return '';
}
