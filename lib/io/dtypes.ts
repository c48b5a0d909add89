/**
 * Element types of stored tensors and their conversion to the two dtypes a `StateEntry` holds.
 *
 * Policy (shared by the PyTorch reader and the safetensors reader):
 * - float32 and int64 are copied bit for bit.
 * - float16 and bfloat16 widen to float32 exactly (every value is representable).
 * - float64 rounds to the nearest float32 (ties to even), with a note: PyTorch state dicts are float32
 *   here, and a double tensor there is almost always an accident of `torch.tensor(python_float)`.
 * - int32, int16, int8, uint8 and bool widen to int64 exactly, with a note.
 * Other element types (complex, quantized) are refused by the caller with the tensor's name.
 */
import type { StateEntry } from '../nn/module';

export type SourceDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const ELEMENT_BYTES: Readonly<Record<SourceDtype, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** The StateEntry dtype a source dtype is imported as. */
export function importedDtype(d: SourceDtype): StateEntry['dtype'] {
  return d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16' ? 'float32' : 'int64';
}

/** Whether importing `d` changes the representation (the caller notes it). */
export function isConverted(d: SourceDtype): boolean {
  return d !== 'float32' && d !== 'int64';
}

type Elements = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint32Array;

const hostLittleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Decodes a storage's raw bytes (`numel` elements, `byteOrder` as written) into an indexable array:
 * float32 as Uint32Array bit patterns (so a copy keeps every bit, NaN payloads included), float16 /
 * bfloat16 widened to Float32Array, the rest in their own typed array.
 */
export function decodeStorage(bytes: Uint8Array, dtype: SourceDtype, numel: number, byteOrder: 'little' | 'big'): Elements {
  const size = ELEMENT_BYTES[dtype];
  const copy = new Uint8Array(numel * size);
  copy.set(bytes.subarray(0, numel * size));
  if ((byteOrder === 'little') !== hostLittleEndian && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  const buf = copy.buffer;
  switch (dtype) {
    case 'float32': return new Uint32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
    case 'float16': {
      const h = new Uint16Array(buf);
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = halfToFloat(h[i]);
      return out;
    }
    case 'bfloat16': {
      const h = new Uint16Array(buf);
      const bits = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) bits[i] = h[i] << 16;
      return new Float32Array(bits.buffer);
    }
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Storage element indices of a strided view, in row-major order of `shape`, or `null` when the view
 * is the contiguous run starting at `offset`. Throws a RangeError when an index falls outside `numel`.
 */
export function viewIndices(shape: readonly number[], stride: readonly number[], offset: number, numel: number): Int32Array | null {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return null;
  if (n > 0x7fffffff) throw new RangeError(`view of shape [${shape.join(',')}] has more than 2^31 - 1 elements`);
  let lo = offset;
  let hi = offset;
  for (let d = 0; d < shape.length; d++) {
    const span = (shape[d] - 1) * stride[d];
    if (span < 0) lo += span;
    else hi += span;
  }
  if (lo < 0 || hi >= numel) {
    throw new RangeError(`view (offset ${offset}, shape [${shape.join(',')}], strides [${stride.join(',')}]) reads outside its storage of ${numel} elements`);
  }
  if (isContiguous(shape, stride)) return null;
  const out = new Int32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    out[i] = src;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++;
      src += stride[d];
      if (idx[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Row-major strides of `shape` (PyTorch's, with size-0 and size-1 dims counted as 1). */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= Math.max(shape[d], 1);
  }
  return s;
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== acc) return false;
    acc *= shape[d];
  }
  return true;
}

/**
 * Gathers the view (`indices` from viewIndices, or the contiguous run of `n` elements at `offset`)
 * out of decoded storage `src` into a fresh StateEntry data array of the imported dtype.
 */
export function gather(src: Elements, dtype: SourceDtype, indices: Int32Array | null, offset: number, n: number): Float32Array | BigInt64Array {
  const at = (i: number) => (indices ? indices[i] : offset + i);
  if (dtype === 'float32') {
    const bits = src as Uint32Array;
    const out = indices ? new Uint32Array(n) : bits.slice(offset, offset + n);
    if (indices) for (let i = 0; i < n; i++) out[i] = bits[indices[i]];
    return new Float32Array(out.buffer);
  }
  if (dtype === 'int64') {
    const s = src as BigInt64Array;
    if (!indices) return s.slice(offset, offset + n);
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) out[i] = s[indices[i]];
    return out;
  }
  if (importedDtype(dtype) === 'float32') {
    const s = src as Float32Array | Float64Array;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = s[at(i)];
    return out;
  }
  const s = src as Int32Array | Int16Array | Int8Array | Uint8Array;
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) out[i] = BigInt(s[at(i)]);
  return out;
}

/** An entry's elements as little-endian bytes (a view of its data on little-endian hosts). */
export function entryBytesLE(e: StateEntry): Uint8Array {
  const src = new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength);
  if (hostLittleEndian) return src;
  const out = src.slice();
  const size = e.data.BYTES_PER_ELEMENT;
  for (let i = 0; i < out.length; i += size) out.subarray(i, i + size).reverse();
  return out;
}

/** One note per converted source dtype, naming the tensors: `float64 -> float32 (rounded to nearest): a, b`. */
export function conversionNotes(converted: ReadonlyMap<SourceDtype, readonly string[]>): string[] {
  return [...converted].map(([d, names]) => `${d} -> ${importedDtype(d)}${d === 'float64' ? ' (rounded to nearest)' : ' (exact)'}: ${names.join(', ')}`);
}
