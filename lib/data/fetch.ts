/**
 * Downloads the archives of a manifest (lib/data/manifest.ts) into a data root, checks them and
 * extracts them. One archive at a time:
 *
 * 1. Skip it when a marker (`<root>/.ddtb-fetch/<name>.json`, written after a good extraction) says
 *    it is done and what it created is still there.
 * 2. An archive already at `<root>/<file>` (for example one downloaded by hand) is checked, not
 *    downloaded. Otherwise it is downloaded into `<root>/<file>.part` with node's http/https:
 *    a kept `.part` is resumed with `Range: bytes=<size>-` (206 appends; a 200 reply starts again
 *    from zero; 416 means the `.part` is already complete, or does not fit and is started again),
 *    redirects are followed (bounded), and a transfer that breaks off is resumed a few times.
 * 3. Size and sha256 are checked against the manifest. On a mismatch the file is renamed to
 *    `<file>.bad` and the fetch fails naming both values; otherwise the `.part` is renamed to
 *    `<file>` (atomic). A hash the manifest does not know is computed and reported as not verified.
 * 4. The archive is extracted with the system `unzip` or `tar` into `<root>/<extractTo>`, the paths
 *    the manifest says it creates are checked, and the marker is written (atomic).
 *
 * When a host cannot be reached (no DNS, refused, unreachable, connect timeout) the fetch stops at
 * once with FetchOfflineError: one line per archive still missing, with its URL and the exact path
 * to put it at, so that the files can be fetched by hand and checked and extracted by a re-run.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import { spawn } from 'child_process';
import { UserError } from '../errors';
import { ManifestEntry } from './manifest';

/** Waiting limits of one HTTP request, in milliseconds. */
export interface FetchTimeouts {
  /** From the start of the request (DNS lookup included) to a connected socket. */
  readonly connectMs: number;
  /** From the connected socket to the reply's status line. */
  readonly responseMs: number;
  /** Longest pause between two pieces of the body before the transfer counts as broken. */
  readonly idleMs: number;
}

export const defaultTimeouts: FetchTimeouts = Object.freeze({ connectMs: 5000, responseMs: 30000, idleMs: 60000 });

export interface FetchOptions {
  /** The data root (absolute); created when missing. Archives go to `<dataRoot>/<file>`. */
  readonly dataRoot: string;
  /** What to fetch, in order. */
  readonly entries: readonly ManifestEntry[];
  /** Whether to extract each archive after it is checked (default true). */
  readonly extract?: boolean;
  readonly timeouts?: Partial<FetchTimeouts>;
  /** How many times a transfer that broke off is resumed within one fetch (default 3). */
  readonly retries?: number;
  /** Pause before such a resume, ms (default 2000). */
  readonly retryDelayMs?: number;
  /** Redirects followed per request (default 5). */
  readonly maxRedirects?: number;
  /** Where progress and status lines go (default: stderr). */
  readonly log?: (line: string) => void;
  /** Least time between two progress lines of one transfer or hash, ms (default 5000). */
  readonly progressIntervalMs?: number;
  /** Host name resolution (default: the system resolver, dns.lookup). */
  readonly lookup?: net.LookupFunction;
}

export type FetchAction =
  /** downloaded from zero in this run */
  | 'downloaded'
  /** a kept `.part` was completed in this run */
  | 'resumed'
  /** the archive was already at its final path and was checked */
  | 'found'
  /** the marker says it was fetched and extracted earlier; nothing was read */
  | 'skipped';

export interface FetchResult {
  readonly entry: ManifestEntry;
  /** Absolute path of the archive (it may be absent when `action` is 'skipped'). */
  readonly archive: string;
  readonly action: FetchAction;
  /** Bytes of the archive. */
  readonly size: number;
  /** sha256 of the archive as computed here (from the marker when skipped). */
  readonly sha256: string;
  /** Whether `sha256` matched a hash from the manifest (false when the manifest has none). */
  readonly verified: boolean;
  readonly extracted: 'extracted' | 'already' | 'not requested';
}

/** The fetch stopped because a host could not be reached; `missing` lists what is still needed. */
export class FetchOfflineError extends UserError {
  readonly missing: readonly ManifestEntry[];
  constructor(message: string, missing: readonly ManifestEntry[]) {
    super(message);
    this.name = 'FetchOfflineError';
    this.missing = missing;
  }
}

/** What a marker file records about an extracted archive. */
interface Marker {
  readonly name: string;
  readonly file: string;
  readonly url: string;
  readonly size: number;
  readonly sha256: string;
  readonly verified: boolean;
  readonly extractTo: string;
  readonly creates: readonly string[];
}

/** A request that got no reply at all: the host is unreachable from here. */
class UnreachableError extends Error {
  constructor(readonly url: string, readonly code: string, detail: string) {
    super(detail);
  }
}

/** A transfer that started and broke off; what arrived is in the `.part` file. */
class BrokenTransferError extends Error {}

/** Local file trouble while writing the `.part` (disk full, no permission): not retried. */
class LocalWriteError extends Error {}

interface Context {
  readonly root: string;
  readonly timeouts: FetchTimeouts;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxRedirects: number;
  readonly log: (line: string) => void;
  readonly progressIntervalMs: number;
  readonly lookup?: net.LookupFunction;
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/** Human size: bytes in B, KiB, MiB or GiB with 1 decimal. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Paths of one entry under the data root. */
export function entryPaths(root: string, entry: ManifestEntry): { archive: string; part: string; bad: string; marker: string; extractDir: string } {
  const archive = path.join(root, entry.file);
  return {
    archive, part: `${archive}.part`, bad: `${archive}.bad`,
    marker: path.join(root, '.ddtb-fetch', `${entry.name}.json`),
    extractDir: path.join(root, entry.extractTo),
  };
}

function sizeOf(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

function readMarker(file: string): Marker | null {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Marker;
    return typeof m.sha256 === 'string' && typeof m.size === 'number' && Array.isArray(m.creates) ? m : null;
  } catch {
    return null;
  }
}

function writeFileAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** The marker of an archive that was extracted and whose output is still there, else null. */
function doneMarker(ctx: Context, entry: ManifestEntry): Marker | null {
  const p = entryPaths(ctx.root, entry);
  const marker = readMarker(p.marker);
  if (!marker || marker.file !== entry.file || marker.extractTo !== entry.extractTo) return null;
  if (!entry.creates.every((c) => fs.existsSync(path.join(p.extractDir, c)))) return null;
  const size = sizeOf(p.archive);
  return size === null || size === marker.size ? marker : null;
}

/** Throttled progress lines for one transfer or hash of `total` bytes (null: unknown). */
function progressReporter(ctx: Context, label: string, total: number | null): (done: number) => void {
  let last = Date.now();
  return (done) => {
    const now = Date.now();
    if (now - last < ctx.progressIntervalMs) return;
    last = now;
    const pct = total ? ` (${((100 * done) / total).toFixed(1)}%)` : '';
    ctx.log(`fetch: ${label} ${formatBytes(done)}${total ? ` of ${formatBytes(total)}` : ''}${pct}`);
  };
}

function netError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * One GET without following redirects. Resolves with the reply once its status line is in; rejects
 * with UnreachableError when no reply comes (lookup, connect or reply timeout, refused, ...).
 */
function get(ctx: Context, url: URL, headers: Record<string, string>): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: 'GET', headers, agent: false, ...(ctx.lookup ? { lookup: ctx.lookup } : {}) });
    const { connectMs, responseMs } = ctx.timeouts;
    let timer = setTimeout(() => req.destroy(netError('ETIMEDOUT', `no connection within ${connectMs} ms`)), connectMs);
    req.once('socket', (socket) => {
      socket.once('connect', () => {
        clearTimeout(timer);
        timer = setTimeout(() => req.destroy(netError('ETIMEDOUT', `no reply within ${responseMs} ms`)), responseMs);
      });
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve({ req, res });
    });
    // After the reply has arrived, errors are the body reader's to record (writeBody); a promise
    // that has resolved ignores this reject.
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new UnreachableError(url.href, e.code ?? 'ERROR', e.message));
    });
    req.end();
  });
}

/** Parses a Content-Range value: `bytes a-b/total`, or `bytes *` + `/total` (416 replies). */
function parseContentRange(v: string | undefined): { start: number | null; total: number | null } {
  const m = /^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec((v ?? '').trim());
  if (!m) return { start: null, total: null };
  return { start: m[1] === undefined ? null : Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) };
}

/**
 * Streams a reply body into `part` (appending or from zero). Every byte that arrived is on disk
 * when it returns or throws: a broken transfer ends the file stream (flushing it) rather than
 * destroying it. Throws BrokenTransferError when the reply breaks off, LocalWriteError when the
 * file cannot be written.
 */
async function writeBody(ctx: Context, entry: ManifestEntry, req: http.ClientRequest, res: http.IncomingMessage,
  part: string, append: boolean, offset: number, total: number | null): Promise<void> {
  const out = fs.createWriteStream(part, { flags: append ? 'a' : 'w' });
  let localError: NodeJS.ErrnoException | null = null;
  let broken: Error | null = null;
  out.on('error', (e) => { localError ??= e; req.destroy(); });
  req.on('error', (e) => { broken ??= e; });
  res.on('error', (e) => { broken ??= e; });
  req.setTimeout(ctx.timeouts.idleMs, () => req.destroy(netError('ETIMEDOUT', `no data for ${ctx.timeouts.idleMs} ms`)));
  const progress = progressReporter(ctx, entry.file, total);
  let received = offset;
  res.on('data', (chunk: Buffer) => { received += chunk.length; progress(received); });
  const closed = new Promise<void>((resolve) => out.once('close', () => resolve()));
  res.once('close', () => { if (!out.destroyed) out.end(); });
  res.pipe(out, { end: false });
  await closed;
  if (localError) throw new LocalWriteError(`${part}: cannot write (${(localError as NodeJS.ErrnoException).code ?? (localError as Error).message})`);
  if (broken) throw new BrokenTransferError((broken as Error).message || String(broken));
  if (!res.complete) throw new BrokenTransferError('the connection closed before the end of the reply');
  if (total !== null && received !== total) throw new BrokenTransferError(`got ${received} of ${total} bytes`);
}

/**
 * Brings `<file>.part` to the end of the remote file: resumes from its size, follows redirects and
 * handles 200/206/416 replies. Sets `state.fromZero` when it (re)writes the `.part` from byte 0.
 */
async function transfer(ctx: Context, entry: ManifestEntry, part: string, state: { fromZero: boolean }): Promise<void> {
  let offset = sizeOf(part) ?? 0;
  let restarted = false;
  const restart = (why: string): void => {
    if (restarted) throw new UserError(`${entry.file}: ${why} again after starting from zero; the server's reply is inconsistent (${entry.url})`);
    restarted = true;
    ctx.log(`fetch: ${entry.file}: ${why}; starting again from zero`);
    fs.truncateSync(part, 0);
    offset = 0;
  };
  if (entry.size !== null && offset === entry.size) return;
  if (entry.size !== null && offset > entry.size) restart(`${part} is larger than the expected ${entry.size} bytes`);
  let url = new URL(entry.url);
  let redirects = 0;
  for (;;) {
    const headers: Record<string, string> = { 'user-agent': 'ddtb-lab-fetch', accept: '*/*' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    if (offset > 0 && redirects === 0) ctx.log(`fetch: ${entry.file}: resuming at ${formatBytes(offset)} from ${url.href}`);
    const { req, res } = await get(ctx, url, headers);
    const status = res.statusCode ?? 0;
    if (redirectStatuses.has(status)) {
      res.resume();
      const location = res.headers.location;
      if (!location) throw new UserError(`${entry.file}: ${url.href} answered HTTP ${status} without a Location`);
      if (++redirects > ctx.maxRedirects) throw new UserError(`${entry.file}: more than ${ctx.maxRedirects} redirects from ${entry.url}`);
      url = new URL(location, url);
      continue;
    }
    if (status === 416 && offset > 0) {
      res.resume();
      const { total } = parseContentRange(res.headers['content-range']);
      if (total === offset || (total === null && entry.size === offset)) return;
      restart(`the server has ${total ?? 'an unknown number of'} bytes, which does not fit the ${offset} bytes in ${part}`);
      continue;
    }
    if (status === 206 && offset > 0) {
      const range = parseContentRange(res.headers['content-range']);
      if (range.start !== offset) {
        res.resume();
        restart(`the server resumed at byte ${range.start ?? '?'} instead of ${offset}`);
        continue;
      }
      await writeBody(ctx, entry, req, res, part, true, offset, range.total);
      return;
    }
    if (status === 200 || status === 206) {
      if (offset > 0) ctx.log(`fetch: ${entry.file}: the server ignored the range request; downloading from zero`);
      const length = res.headers['content-length'];
      const total = status === 206 ? parseContentRange(res.headers['content-range']).total : (length === undefined ? null : Number(length));
      offset = 0;
      state.fromZero = true;
      ctx.log(`fetch: ${entry.file}: downloading ${total === null ? '' : `${formatBytes(total)} `}from ${url.href}`);
      await writeBody(ctx, entry, req, res, part, false, 0, total);
      return;
    }
    res.resume();
    throw new UserError(`${entry.file}: ${url.href} answered HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`);
  }
}

/** sha256 (lowercase hex) and size of a file, read as a stream, with progress. */
export async function hashFile(file: string, onProgress: (done: number) => void = () => {}): Promise<{ size: number; sha256: string }> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    onProgress(size);
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Checks `file` (the `.part` or a file placed by hand) against the manifest. On a mismatch it is
 * renamed to `<file>.bad` and a UserError names the archive and both values.
 */
async function verify(ctx: Context, entry: ManifestEntry, file: string): Promise<{ size: number; sha256: string; verified: boolean }> {
  const { bad } = entryPaths(ctx.root, entry);
  const got = await hashFile(file, progressReporter(ctx, `${entry.file} hashing`, sizeOf(file)));
  const reject = (what: string): never => {
    fs.renameSync(file, bad);
    throw new UserError(`${entry.file}: ${what}; the file was moved to ${bad}`);
  };
  if (entry.size !== null && got.size !== entry.size) reject(`size mismatch: expected ${entry.size} bytes, got ${got.size} (sha256 ${got.sha256})`);
  if (entry.sha256 !== null && got.sha256 !== entry.sha256) {
    reject(`sha256 mismatch: expected ${entry.sha256} (${entry.hashSource}), got ${got.sha256} (${got.size} bytes)`);
  }
  if (entry.sha256 !== null) ctx.log(`fetch: ${entry.file}: sha256 ${got.sha256} verified (${entry.hashSource})`);
  else ctx.log(`fetch: ${entry.file}: sha256 ${got.sha256}, ${got.size} bytes: NOT verified (${entry.hashSource})`);
  return { ...got, verified: entry.sha256 !== null };
}

/** Runs an extraction tool; a missing tool or a failure is a UserError. */
function runTool(cmd: string, args: string[], archive: string, dest: string, okCodes: readonly number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('error', (e: NodeJS.ErrnoException) => {
      reject(new UserError(e.code === 'ENOENT'
        ? `${cmd} not found: install it (apt-get install ${cmd}) or extract ${archive} into ${dest} by hand`
        : `${cmd}: cannot run it (${e.code ?? e.message}) to extract ${archive}`));
    });
    child.once('close', (code) => {
      if (code !== null && okCodes.includes(code)) resolve();
      else {
        const last = stderr.trim().split('\n').pop() ?? '';
        reject(new UserError(`${archive}: ${cmd} failed (exit ${code})${last ? `: ${last}` : ''}`));
      }
    });
  });
}

/** Extracts the archive into its folder, checks what the manifest says it creates, writes the marker. */
async function extract(ctx: Context, entry: ManifestEntry, checked: { size: number; sha256: string; verified: boolean }): Promise<void> {
  const p = entryPaths(ctx.root, entry);
  fs.mkdirSync(p.extractDir, { recursive: true });
  ctx.log(`fetch: ${entry.file}: extracting into ${p.extractDir}`);
  // unzip exits 1 for warnings after a complete extraction.
  if (entry.format === 'zip') await runTool('unzip', ['-q', '-o', p.archive, '-d', p.extractDir], p.archive, p.extractDir, [0, 1]);
  else await runTool('tar', ['-xf', p.archive, '-C', p.extractDir], p.archive, p.extractDir, [0]);
  const missing = entry.creates.filter((c) => !fs.existsSync(path.join(p.extractDir, c)));
  if (missing.length > 0) {
    throw new UserError(`${p.archive}: extracted, but ${missing.join(', ')} is missing under ${p.extractDir} (the archive's layout differs from the manifest)`);
  }
  const marker: Marker = { name: entry.name, file: entry.file, url: entry.url, ...checked, extractTo: entry.extractTo, creates: entry.creates };
  writeFileAtomic(p.marker, `${JSON.stringify(marker, null, 2)}\n`);
}

/** Downloads (resuming) into the `.part` and checks it, retrying a broken transfer; returns how. */
async function download(ctx: Context, entry: ManifestEntry): Promise<{ action: FetchAction; size: number; sha256: string; verified: boolean }> {
  const p = entryPaths(ctx.root, entry);
  const kept = (sizeOf(p.part) ?? 0) > 0;
  const state = { fromZero: false };
  for (let attempt = 0; ; attempt++) {
    try {
      await transfer(ctx, entry, p.part, state);
      break;
    } catch (e) {
      if (e instanceof LocalWriteError) throw new UserError(e.message);
      if (!(e instanceof BrokenTransferError)) throw e;
      const have = sizeOf(p.part) ?? 0;
      if (attempt >= ctx.retries) {
        throw new UserError(`${entry.file}: the download broke off at ${have} bytes (${e.message}); ${p.part} is kept: run the fetch again to resume`);
      }
      ctx.log(`fetch: ${entry.file}: the download broke off at ${have} bytes (${e.message}); resuming (${attempt + 1} of ${ctx.retries})`);
      await new Promise((r) => setTimeout(r, ctx.retryDelayMs));
    }
  }
  const checked = await verify(ctx, entry, p.part);
  fs.renameSync(p.part, p.archive);
  return { action: kept && !state.fromZero ? 'resumed' : 'downloaded', ...checked };
}

/** One line per missing archive: its URL, where to put it and what it extracts to. */
export function manualInstructions(root: string, entries: readonly ManifestEntry[]): string[] {
  return entries.map((e) => {
    const p = entryPaths(root, e);
    return `  ${e.url} -> ${p.archive} (extracted into ${p.extractDir}: ${e.layout})`;
  });
}

function checkWritableRoot(root: string): void {
  try {
    fs.mkdirSync(root, { recursive: true });
    fs.accessSync(root, fs.constants.W_OK);
  } catch (e) {
    throw new UserError(`data root ${root} cannot be created or written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another with --data`);
  }
}

/**
 * Fetches, checks and (unless `extract: false`) extracts every entry, in order. Throws UserError on
 * the first failure (FetchOfflineError when a host cannot be reached); what was done stays done.
 */
export async function fetchArchives(options: FetchOptions): Promise<FetchResult[]> {
  const ctx: Context = {
    root: path.resolve(options.dataRoot),
    timeouts: { ...defaultTimeouts, ...options.timeouts },
    retries: options.retries ?? 3,
    retryDelayMs: options.retryDelayMs ?? 2000,
    maxRedirects: options.maxRedirects ?? 5,
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
    progressIntervalMs: options.progressIntervalMs ?? 5000,
    lookup: options.lookup,
  };
  const doExtract = options.extract ?? true;
  checkWritableRoot(ctx.root);
  const results: FetchResult[] = [];
  for (let i = 0; i < options.entries.length; i++) {
    const entry = options.entries[i];
    const p = entryPaths(ctx.root, entry);
    const marker = doneMarker(ctx, entry);
    if (marker && (doExtract || fs.existsSync(p.archive))) {
      ctx.log(`fetch: ${entry.file}: already fetched and extracted (${p.marker})`);
      results.push({ entry, archive: p.archive, action: 'skipped', size: marker.size, sha256: marker.sha256, verified: marker.verified, extracted: 'already' });
      continue;
    }
    let got: { action: FetchAction; size: number; sha256: string; verified: boolean };
    if (fs.existsSync(p.archive)) {
      ctx.log(`fetch: ${entry.file}: found ${p.archive}; checking it`);
      got = { action: 'found', ...(await verify(ctx, entry, p.archive)) };
    } else {
      try {
        got = await download(ctx, entry);
      } catch (e) {
        if (!(e instanceof UnreachableError)) throw e;
        const missing = options.entries.slice(i).filter((x) => !doneMarker(ctx, x) && !fs.existsSync(entryPaths(ctx.root, x).archive));
        const host = new URL(e.url).host;
        throw new FetchOfflineError([
          `cannot reach ${host} (${e.code}: ${e.message}). Download these by hand, put each file at the path shown, then run the fetch again to check and extract them:`,
          ...manualInstructions(ctx.root, missing),
        ].join('\n'), missing);
      }
    }
    let extracted: FetchResult['extracted'] = 'not requested';
    if (doExtract) {
      await extract(ctx, entry, got);
      extracted = 'extracted';
    }
    results.push({ entry, archive: p.archive, ...got, extracted });
  }
  return results;
}
