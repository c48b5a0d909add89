/**
 * Prompt release of the native kernels' output buffers.
 *
 * A tfjs tensor on the cpu backend is a typed array; disposing the tensor drops the backend's
 * reference, and the memory returns only when V8 next collects the array. V8 schedules that by its
 * own heuristics, and while a training step runs long native calls it lets gigabytes of dead outputs
 * pile up (an FP EDSR step held about 1.5 GB of them at its peak). Here, when the backend deletes the
 * data of a tensor whose buffer a native kernel made, the buffer is queued, and the next native kernel
 * call gives it to `addon.release`: a large one waits in the addon's pool for the next output of its
 * size (native/buffer_pool.cc), a small one is detached, which frees it at once.
 *
 * Releasing is safe only while nobody else can read the buffer (a pooled one is overwritten by the
 * next output of its size), so a buffer is released only if:
 *   - a native kernel made it (a whole ArrayBuffer that none of the kernel's inputs uses),
 *   - exactly one data id ever held it (a `write` or `move` of the same buffer marks it shared), and
 *   - it never left the backend (`readSync`, behind `dataSync`/`data`/`array`, marks it escaped:
 *     a user may keep that array after disposing the tensor).
 * Queued buffers wait for the next native kernel call, so a JavaScript kernel that disposes an
 * intermediate and then reuses its array (through `write`, which un-queues it) finishes first.
 *
 * `DDTB_RELEASE_BUFFERS=0` turns this off (buffers then wait for V8's collector).
 */
import * as tf from '@tensorflow/tfjs';

/** What the backend instance offers, as far as the hooks need it. */
interface HookedBackend {
  data: { get(dataId: tf.DataId): { values?: unknown } | undefined; has(dataId: tf.DataId): boolean };
  readSync(dataId: tf.DataId): unknown;
  write(values: unknown, shape: number[], dtype: tf.DataType): tf.DataId;
  move(dataId: tf.DataId, values: unknown, shape: number[], dtype: tf.DataType, refCount: number): void;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** Counters since the hooks were installed (or last reset). */
export interface ReleaseStats {
  /** Buffers released (kept for reuse or freed), and their bytes. */
  released: number;
  releasedBytes: number;
  /** Buffers that left the backend or were shared, and so were left to V8. */
  kept: number;
}

interface Tracked {
  readonly dataId: tf.DataId;
  pending: boolean;
}

const stats: ReleaseStats = { released: 0, releasedBytes: 0, kept: 0 };
/** Buffers our kernels made, each with the one data id that holds it. */
const tracked = new WeakMap<ArrayBuffer, Tracked>();
let pending: ArrayBuffer[] = [];
let release: ((buffer: ArrayBuffer, poolCapBytes: number) => boolean) | null = null;

/** Whether prompt release is on (`DDTB_RELEASE_BUFFERS` other than 0). */
export function releaseEnabled(): boolean {
  return process.env.DDTB_RELEASE_BUFFERS !== '0';
}

/**
 * Bytes of released buffers the addon may keep for reuse (`DDTB_BUFFER_POOL_MB`, default 512 MB;
 * 0 frees every released buffer at once). Anything but a number >= 0 is an error naming the variable.
 */
export function bufferPoolCapBytes(): number {
  const v = process.env.DDTB_BUFFER_POOL_MB;
  if (v === undefined || v.trim() === '') return 512 * 1048576;
  const mb = Number(v);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`DDTB_BUFFER_POOL_MB must be a number of megabytes >= 0 (default 512), got '${v}'`);
  return Math.floor(mb * 1048576);
}

export function releaseStats(): Readonly<ReleaseStats> {
  return { ...stats };
}

export function resetReleaseStats(): void {
  stats.released = 0;
  stats.releasedBytes = 0;
  stats.kept = 0;
}

function bufferOf(values: unknown): ArrayBuffer | null {
  return ArrayBuffer.isView(values) && values.buffer instanceof ArrayBuffer ? values.buffer : null;
}

/** The buffer of `values` is no longer ours alone: never release it. */
function forget(values: unknown): void {
  const b = bufferOf(values);
  if (b && tracked.delete(b)) stats.kept++;
}

/**
 * Hooks `backend` (the cpu backend instance, once per process) so that disposing a tracked tensor
 * queues its buffer for `releaseBuffer` (the addon's `release`).
 */
export function installBufferRelease(backend: HookedBackend, releaseBuffer: (buffer: ArrayBuffer, poolCapBytes: number) => boolean): void {
  const original = { readSync: backend.readSync, write: backend.write, move: backend.move, disposeData: backend.disposeData };
  release = releaseBuffer;
  backend.readSync = function (this: HookedBackend, dataId) {
    const values = original.readSync.call(this, dataId);
    forget(values);
    return values;
  };
  backend.write = function (this: HookedBackend, values, shape, dtype) {
    forget(values);
    return original.write.call(this, values, shape, dtype);
  };
  backend.move = function (this: HookedBackend, dataId, values, shape, dtype, refCount) {
    forget(values);
    original.move.call(this, dataId, values, shape, dtype, refCount);
  };
  backend.disposeData = function (this: HookedBackend, dataId, force) {
    const values = this.data.get(dataId)?.values;
    const result = original.disposeData.call(this, dataId, force);
    const b = bufferOf(values);
    const t = b ? tracked.get(b) : undefined;
    if (b && t && !t.pending && t.dataId === dataId && !this.data.has(dataId)) {
      t.pending = true;
      pending.push(b);
    }
    return result;
  };
}

/**
 * Bytes by which a native output's ArrayBuffer may exceed its array: outputs of 4 KB or more get 64
 * bytes more, and their array starts at the first 64-byte aligned address in it (native/buffers.h,
 * `info().outputAlign`).
 */
export const OUTPUT_PAD = 64;

/** Whether `view` is the one array of buffer `b` as the addon makes outputs: all of it, or all but the alignment padding. */
function wholeOutput(view: ArrayBufferView, b: ArrayBuffer): boolean {
  if (view.byteLength === 0) return false;
  if (view.byteOffset === 0 && view.byteLength === b.byteLength) return true;
  return b.byteLength === view.byteLength + OUTPUT_PAD && view.byteOffset < OUTPUT_PAD;
}

/**
 * Records the outputs of a native kernel call as ours, unless an output's array is not a whole
 * buffer of its own (alignment padding aside) or is one of the inputs' buffers.
 */
export function adoptOutputs(backend: Pick<HookedBackend, 'data'>, outputs: tf.TensorInfo | tf.TensorInfo[], inputs: ReadonlyArray<tf.TensorInfo | undefined>): void {
  if (release === null) return;
  // an optional input left out (a conv without bias) is undefined
  const isInputBuffer = (b: ArrayBuffer) => inputs.some((t) => t !== undefined && bufferOf(backend.data.get(t.dataId)?.values) === b);
  for (const out of Array.isArray(outputs) ? outputs : [outputs]) {
    const values = backend.data.get(out.dataId)?.values;
    const b = bufferOf(values);
    if (!b || !wholeOutput(values as ArrayBufferView, b)) continue;
    if (isInputBuffer(b) || tracked.has(b)) {
      forget(values);
      continue;
    }
    tracked.set(b, { dataId: out.dataId, pending: false });
  }
}

/** Releases the queued buffers still ours (called at the start of every native kernel call). */
export function flushReleases(): void {
  if (pending.length === 0 || release === null) return;
  const cap = bufferPoolCapBytes();
  const queue = pending;
  pending = [];
  for (const b of queue) {
    const t = tracked.get(b);
    if (!t || !t.pending) continue;
    tracked.delete(b);
    const bytes = b.byteLength;
    if (release(b, cap)) {
      stats.released++;
      stats.releasedBytes += bytes;
    }
  }
}
