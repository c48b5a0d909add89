/**
 * A small zip reader and writer, enough for PyTorch checkpoints.
 *
 * Reader: finds the end-of-central-directory record (zip64 included: torch always writes a zip64
 * record), lists the entries from the central directory (torch's local headers carry zero sizes and
 * a data descriptor, so the central directory is the source of truth), locates each entry's data
 * through its local header (torch pads the local extra field so data starts on a 64-byte boundary),
 * and reads stored (method 0) or deflated (method 8, via node's zlib) entries, checking the CRC-32.
 *
 * Writer: stored entries only, with real sizes and CRCs in the local headers, data aligned to
 * `alignment` bytes through an extra field (id 0x4246 'FB', as torch does), no zip64 (archives and
 * entries under 4 GiB).
 *
 * Errors are `ZipError`s with a message that does not name the file; callers add it.
 */
import * as zlib from 'zlib';

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const U32_MAX = 0xffffffff;

/** An opened zip archive over an in-memory buffer. Entries keep the central directory's order. */
export class ZipReader {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.entries = this.readCentralDirectory();
  }

  /** Entry names in central-directory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The entry's uncompressed bytes (a view into the archive for stored entries), CRC checked. */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new ZipError(`no entry '${name}' in the zip archive`);
    const start = this.dataStart(e);
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) {
      data = raw;
    } else if (e.method === 8) {
      try {
        data = zlib.inflateRawSync(raw);
      } catch (err) {
        throw new ZipError(`corrupt zip entry ${name} (deflate stream: ${(err as Error).message})`);
      }
    } else {
      throw new ZipError(`zip entry ${name} uses compression method ${e.method}; only stored (0) and deflate (8) are supported`);
    }
    if (data.length !== e.size) throw new ZipError(`corrupt zip entry ${name} (${data.length} bytes, the directory says ${e.size})`);
    if (crc32(data) !== e.crc32) throw new ZipError(`corrupt zip entry ${name} (CRC mismatch)`);
    return data;
  }

  private dataStart(e: ZipEntry): number {
    const off = e.localHeaderOffset;
    if (off + 30 > this.bytes.length) throw new ZipError(`truncated zip (local header of ${e.name} is past the end)`);
    if (this.view.getUint32(off, true) !== SIG_LOCAL) throw new ZipError(`corrupt zip (no local header for ${e.name} at byte ${off})`);
    const flags = this.view.getUint16(off + 6, true);
    if (flags & 1) throw new ZipError(`zip entry ${e.name} is encrypted`);
    const start = off + 30 + this.view.getUint16(off + 26, true) + this.view.getUint16(off + 28, true);
    if (start + e.compressedSize > this.bytes.length) {
      throw new ZipError(`truncated zip (entry ${e.name} needs bytes ${start}..${start + e.compressedSize}, the file has ${this.bytes.length})`);
    }
    return start;
  }

  private findEocd(): number {
    const min = Math.max(0, this.bytes.length - 22 - 0xffff);
    for (let p = this.bytes.length - 22; p >= min; p--) {
      if (this.view.getUint32(p, true) === SIG_EOCD) return p;
    }
    throw new ZipError('truncated zip (central directory not found)');
  }

  private readCentralDirectory(): Map<string, ZipEntry> {
    if (this.bytes.length < 22) throw new ZipError('truncated zip (central directory not found)');
    const eocd = this.findEocd();
    let count = this.view.getUint16(eocd + 10, true);
    let cdSize = this.view.getUint32(eocd + 12, true);
    let cdOffset = this.view.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
      const loc = eocd - 20;
      if (loc < 0 || this.view.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) throw new ZipError('corrupt zip (zip64 locator missing)');
      const z = this.u64(loc + 8);
      if (z + 56 > this.bytes.length || this.view.getUint32(z, true) !== SIG_ZIP64_EOCD) throw new ZipError('corrupt zip (zip64 end record missing)');
      count = this.u64(z + 32);
      cdSize = this.u64(z + 40);
      cdOffset = this.u64(z + 48);
    }
    if (cdOffset + cdSize > this.bytes.length) throw new ZipError('truncated zip (central directory points past the end)');
    const entries = new Map<string, ZipEntry>();
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (p + 46 > this.bytes.length || this.view.getUint32(p, true) !== SIG_CENTRAL) {
        throw new ZipError(`corrupt zip (central directory entry ${i} of ${count} is damaged)`);
      }
      const method = this.view.getUint16(p + 10, true);
      const crc = this.view.getUint32(p + 16, true);
      let compressedSize = this.view.getUint32(p + 20, true);
      let size = this.view.getUint32(p + 24, true);
      const nameLen = this.view.getUint16(p + 28, true);
      const extraLen = this.view.getUint16(p + 30, true);
      const commentLen = this.view.getUint16(p + 32, true);
      let localHeaderOffset = this.view.getUint32(p + 42, true);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > this.bytes.length) throw new ZipError(`corrupt zip (central directory entry ${i} runs past the end)`);
      const name = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + p + 46, nameLen).toString('utf8');
      // zip64 extended information: the 8-byte values present are those whose 32-bit field is full.
      let q = p + 46 + nameLen;
      const extraEnd = q + extraLen;
      while (q + 4 <= extraEnd) {
        const id = this.view.getUint16(q, true);
        const len = this.view.getUint16(q + 2, true);
        if (id === 0x0001) {
          let r = q + 4;
          if (size === U32_MAX) { size = this.u64(r); r += 8; }
          if (compressedSize === U32_MAX) { compressedSize = this.u64(r); r += 8; }
          if (localHeaderOffset === U32_MAX) { localHeaderOffset = this.u64(r); r += 8; }
        }
        q += 4 + len;
      }
      entries.set(name, { name, method, crc32: crc, compressedSize, size, localHeaderOffset });
      p = end;
    }
    return entries;
  }

  private u64(at: number): number {
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('corrupt zip (64-bit field out of range)');
    return Number(v);
  }
}

/** Does `bytes` start like a zip archive (a local header, or an empty archive's end record)? */
export function looksLikeZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const sig = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24);
  return sig >>> 0 === SIG_LOCAL || sig >>> 0 === SIG_EOCD;
}

export interface ZipInput {
  readonly name: string;
  readonly data: Uint8Array;
}

/**
 * A zip archive of stored entries, in the given order. Each entry's data starts on a multiple of
 * `alignment` bytes (torch uses 64). Timestamps are fixed (1980-01-01 00:00), so the output is a
 * pure function of the input.
 */
export function buildZip(entries: readonly ZipInput[], alignment = 64): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const dosTime = 0;
  const dosDate = (0 << 9) | (1 << 5) | 1;
  for (const e of entries) {
    if (e.data.length >= U32_MAX) throw new ZipError(`zip entry ${e.name} is 4 GiB or more (zip64 is not written)`);
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    const base = offset + 30 + name.length;
    let pad = (alignment - ((base + 4) % alignment)) % alignment;
    const extraLen = alignment > 1 ? 4 + pad : 0;
    if (alignment <= 1) pad = 0;
    const local = new Uint8Array(30 + name.length + extraLen);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, 20, true); // version needed
    lv.setUint16(6, 0x0800, true); // UTF-8 names
    lv.setUint16(8, 0, true); // stored
    lv.setUint16(10, dosTime, true);
    lv.setUint16(12, dosDate, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, e.data.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, extraLen, true);
    local.set(name, 30);
    if (extraLen) {
      lv.setUint16(30 + name.length, 0x4246, true); // 'FB'
      lv.setUint16(32 + name.length, pad, true);
      local.fill(0x5a, 34 + name.length); // 'Z'
    }
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, 20, true); // version made by
    cv.setUint16(6, 20, true); // version needed
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, 0, true);
    cv.setUint16(12, dosTime, true);
    cv.setUint16(14, dosDate, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, e.data.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    parts.push(local, e.data);
    central.push(cd);
    offset += local.length + e.data.length;
    if (offset >= U32_MAX) throw new ZipError('zip archive would be 4 GiB or more (zip64 is not written)');
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  if (entries.length >= 0xffff) throw new ZipError('too many zip entries (zip64 is not written)');
  return Buffer.concat([...parts, ...central, eocd]);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the zip / PNG polynomial 0xEDB88320), as an unsigned 32-bit number. */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
