/**
 * Our own checkpoint format: safetensors (the documented format of the `safetensors` library).
 *
 * Layout: 8 bytes, little-endian u64 N; N bytes of UTF-8 JSON, padded with spaces to a multiple of 8;
 * then the data buffer. The JSON maps each tensor name to `{"dtype", "shape", "data_offsets": [begin,
 * end]}` (byte offsets into the buffer, row-major little-endian elements) and may hold
 * `"__metadata__"`, a flat string -> string map (we store the resolved config, commit and so on there,
 * as JSON strings). Tensors are written in the state dict's order with increasing offsets, and read
 * back in offset order, so the order survives (JSON object key order would not, for names like "0").
 *
 * Written dtypes: F32 and I64. Read: F32 and I64 as they are; F64, F16, BF16 to float32 and I32, I16,
 * I8, U8, BOOL to int64 (see dtypes.ts), each conversion listed in `notes`.
 * Writes are atomic (temporary file, fsync, rename, fsync of the folder).
 */
import * as fs from 'fs';
import { UserError } from '../errors';
import type { StateDict, StateEntry } from '../nn/module';
import { writeFileAtomic } from './atomic_write';
import { ELEMENT_BYTES, SourceDtype, conversionNotes, decodeStorage, entryBytesLE, gather, importedDtype, isConverted } from './dtypes';

export interface SafetensorsContent {
  readonly tensors: StateDict;
  readonly metadata: Record<string, string>;
  /** One line per kind of dtype conversion on reading (empty for files we wrote). */
  readonly notes: string[];
}

const DTYPES: Record<string, SourceDtype> = {
  F32: 'float32', F64: 'float64', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const MAX_HEADER_BYTES = 100_000_000;

/** Writes `tensors` (float32 / int64) and string `metadata` to `file`, atomically. */
export async function writeSafetensors(file: string, tensors: StateDict, metadata: Record<string, string> = {}): Promise<void> {
  const header = encodeHeader(tensors, metadata, file);
  await writeFileAtomic(file, async (write) => {
    await write(header);
    for (const [, e] of tensors) await write(entryBytesLE(e));
  });
}

/** Reads a safetensors file. Errors are UserErrors naming `file` and what is wrong. */
export async function readSafetensors(file: string): Promise<SafetensorsContent> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, file);
}

/** The 8-byte length and the padded JSON header for `tensors`. Validates every entry first. */
function encodeHeader(tensors: StateDict, metadata: Record<string, string>, file: string): Uint8Array {
  const parts: string[] = [];
  const metaKeys = Object.keys(metadata);
  for (const k of metaKeys) {
    if (typeof metadata[k] !== 'string') throw new UserError(`${file}: metadata '${k}' is a ${typeof metadata[k]}; safetensors metadata values must be strings`);
  }
  if (metaKeys.length) parts.push(`"__metadata__":{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  let offset = 0;
  for (const [name, e] of tensors) {
    if (name === '__metadata__') throw new UserError(`${file}: a tensor may not be named __metadata__`);
    checkEntry(name, e, file);
    const end = offset + e.data.byteLength;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${e.dtype === 'float32' ? 'F32' : 'I64'}","shape":[${e.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

function checkEntry(name: string, e: StateEntry, file: string): void {
  const ok = e.dtype === 'float32' ? e.data instanceof Float32Array : e.dtype === 'int64' && e.data instanceof BigInt64Array;
  if (!ok) throw new UserError(`${file}: tensor '${name}' is ${String(e.dtype)} with ${e.data?.constructor?.name} data; float32 (Float32Array) and int64 (BigInt64Array) are written`);
  if (!e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new UserError(`${file}: tensor '${name}' has an invalid shape [${e.shape.join(',')}]`);
  const n = e.shape.reduce((a, b) => a * b, 1);
  if (n !== e.data.length) throw new UserError(`${file}: tensor '${name}' has shape [${e.shape.join(',')}] (${n} elements) but ${e.data.length} values`);
}

/** Parses safetensors bytes; `file` names the source in error messages. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContent {
  const fail = (what: string): never => {
    throw new UserError(`${file}: ${what}`);
  };
  if (bytes.length < 8) fail(`truncated safetensors file (${bytes.length} bytes, no header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`not a safetensors file (header length ${n} is implausible)`);
  const headerEnd = 8 + Number(n);
  if (headerEnd > bytes.length) fail(`truncated safetensors file (header of ${n} bytes, the file has ${bytes.length})`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, Number(n)).toString('utf8'));
  } catch (e) {
    fail(`corrupt safetensors header (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('corrupt safetensors header (not a JSON object)');
  const h = header as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  const rawMeta = h.__metadata__;
  if (rawMeta !== undefined) {
    if (typeof rawMeta !== 'object' || rawMeta === null || Array.isArray(rawMeta)) fail('corrupt safetensors header (__metadata__ is not an object)');
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string') fail(`corrupt safetensors header (metadata '${k}' is not a string)`);
      metadata[k] = v as string;
    }
  }
  interface Item { name: string; dtype: SourceDtype; shape: number[]; begin: number; end: number }
  const items: Item[] = [];
  for (const [name, raw] of Object.entries(h)) {
    if (name === '__metadata__') continue;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail(`corrupt safetensors header (entry '${name}' is not an object)`);
    const dtype = typeof info.dtype === 'string' ? DTYPES[info.dtype] : undefined;
    if (!dtype) fail(`tensor '${name}' has dtype ${String(info.dtype)}, which is not supported (${Object.keys(DTYPES).join(', ')} are)`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`corrupt safetensors header (tensor '${name}' has shape ${JSON.stringify(shape)})`);
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) {
      fail(`corrupt safetensors header (tensor '${name}' has data_offsets ${JSON.stringify(off)})`);
    }
    const [begin, end] = off as number[];
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== numel * ELEMENT_BYTES[dtype as SourceDtype]) {
      fail(`corrupt safetensors header (tensor '${name}': ${end - begin} bytes for shape [${(shape as number[]).join(',')}] of ${info.dtype})`);
    }
    items.push({ name, dtype: dtype as SourceDtype, shape: shape as number[], begin, end });
  }
  items.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expect = 0;
  for (const it of items) {
    if (it.begin !== expect) fail(`corrupt safetensors header (tensor '${it.name}' starts at byte ${it.begin} of the buffer, expected ${expect}: overlap or gap)`);
    expect = it.end;
  }
  const bufferBytes = bytes.length - headerEnd;
  if (expect > bufferBytes) fail(`truncated safetensors file (tensors need ${expect} data bytes, the file has ${bufferBytes})`);
  if (expect < bufferBytes) fail(`corrupt safetensors file (${bufferBytes - expect} bytes after the last tensor)`);
  const tensors: StateDict = new Map();
  const converted = new Map<SourceDtype, string[]>();
  for (const it of items) {
    const numel = it.shape.reduce((a, b) => a * b, 1);
    const elements = decodeStorage(bytes.subarray(headerEnd + it.begin, headerEnd + it.end), it.dtype, numel, 'little');
    tensors.set(it.name, { shape: it.shape, dtype: importedDtype(it.dtype), data: gather(elements, it.dtype, null, 0, numel) });
    if (isConverted(it.dtype)) converted.set(it.dtype, [...(converted.get(it.dtype) ?? []), it.name]);
  }
  return { tensors, metadata, notes: conversionNotes(converted) };
}
