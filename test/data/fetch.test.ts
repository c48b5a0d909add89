/**
 * ddtb fetch against a small archive served by an HTTP server on 127.0.0.1 (a random port) that
 * this file starts. Only loopback addresses are contacted; host-name failures go through an
 * injected resolver, so no DNS query leaves the machine.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { execFile, execFileSync } from 'child_process';
import { fetchArchives, FetchOfflineError, FetchOptions } from '../../lib/data/fetch';
import { loadManifest, parseManifest, selectEntries, ManifestEntry, NOT_VERIFIED } from '../../lib/data/manifest';
import { UserError } from '../../lib/errors';
import { repoRoot } from '../helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-fetch-'));
let rootCount = 0;
/** A fresh data root that does not exist yet (the fetch creates it). */
const newRoot = (): string => path.join(tmp, `root${++rootCount}`, 'data');

/** Deterministic bytes that do not compress (a 32-bit LCG). */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; b[i] = s >>> 24; }
  return b;
}

const sha256 = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');

// The archive: benchmark/Tiny/HR/img_001.png (noise, 96 KiB) and img_002.png, packed with the system tar.
const srcDir = path.join(tmp, 'src');
const members = { 'benchmark/Tiny/HR/img_001.png': noise(96 * 1024, 1), 'benchmark/Tiny/HR/img_002.png': noise(5000, 2) };
for (const [rel, bytes] of Object.entries(members)) {
  fs.mkdirSync(path.dirname(path.join(srcDir, rel)), { recursive: true });
  fs.writeFileSync(path.join(srcDir, rel), bytes);
}
const tarPath = path.join(tmp, 'tiny.tar');
execFileSync('tar', ['-cf', tarPath, '-C', srcDir, 'benchmark']);
const tarBytes = fs.readFileSync(tarPath);
const tarSha = sha256(tarBytes);

interface Seen { readonly url: string; readonly range: string | undefined }

/** The test server: /a.tar with byte ranges, /moved/a.tar (302 to it), /silent (never answers). */
const server = {
  http: null as http.Server | null,
  port: 0,
  seen: [] as Seen[],
  /** Body bytes written (partial replies included). */
  sent: 0,
  /** When > 0, the next full reply is cut after this many bytes (once). */
  dropOnce: 0,
  /** Answer Range requests with the whole file (200), as some servers do. */
  ignoreRange: false,
  body: tarBytes,
  reset(): void { this.seen = []; this.sent = 0; this.dropOnce = 0; this.ignoreRange = false; this.body = tarBytes; },
  url(p: string): string { return `http://127.0.0.1:${this.port}${p}`; },
};

before(async () => {
  server.http = http.createServer((req, res) => {
    server.seen.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url === '/silent') return;
    if (req.url === '/moved/a.tar') { res.writeHead(302, { location: '/a.tar' }); res.end(); return; }
    if (req.url !== '/a.tar') { res.writeHead(404); res.end(); return; }
    const body = server.body;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !server.ignoreRange) {
      const start = Number(m[1]);
      if (start >= body.length) { res.writeHead(416, { 'content-range': `bytes */${body.length}` }); res.end(); return; }
      res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': body.length - start });
      server.sent += body.length - start;
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length });
    if (server.dropOnce > 0) {
      const n = server.dropOnce;
      server.dropOnce = 0;
      server.sent += n;
      res.write(body.subarray(0, n), () => res.socket?.destroy());
      return;
    }
    server.sent += body.length;
    res.end(body);
  });
  await new Promise<void>((r) => server.http!.listen(0, '127.0.0.1', r));
  server.port = (server.http.address() as net.AddressInfo).port;
});

after(() => {
  server.http?.closeAllConnections();
  server.http?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A manifest entry for the served archive; `over` replaces fields. */
function entry(over: Partial<ManifestEntry> = {}): ManifestEntry {
  return parseManifest({
    entries: [{
      name: 'tiny', group: 'test', url: server.url('/a.tar'), file: 'tiny.tar', size: tarBytes.length,
      sha256: tarSha, hashSource: 'computed by this test from the archive it serves', format: 'tar',
      extractTo: '.', creates: ['benchmark/Tiny/HR'], layout: 'benchmark/Tiny/HR/img_001.png, img_002.png', ...over,
    }],
  }, 'test manifest').entries[0];
}

/** fetchArchives with short waits and the log kept in `lines`. */
function run(root: string, entries: ManifestEntry[], lines: string[], more: Partial<FetchOptions> = {}) {
  return fetchArchives({
    dataRoot: root, entries, log: (l) => lines.push(l), retryDelayMs: 10,
    timeouts: { connectMs: 2000, responseMs: 2000, idleMs: 5000 }, ...more,
  });
}

function assertExtracted(root: string): void {
  for (const [rel, bytes] of Object.entries(members)) {
    assert.ok(fs.readFileSync(path.join(root, rel)).equals(bytes), `${rel} extracted byte for byte`);
  }
}

test('full download through a redirect: sha256 verified, .part renamed, extracted, marker makes re-runs free', async () => {
  server.reset();
  const root = newRoot();
  const lines: string[] = [];
  const [r] = await run(root, [entry({ url: server.url('/moved/a.tar') })], lines);
  assert.deepEqual(server.seen.map((s) => s.url), ['/moved/a.tar', '/a.tar']);
  assert.equal(server.seen[1].range, undefined, 'nothing to resume: no Range header');
  assert.deepEqual([r.action, r.size, r.sha256, r.verified, r.extracted], ['downloaded', tarBytes.length, tarSha, true, 'extracted']);
  assert.ok(fs.readFileSync(path.join(root, 'tiny.tar')).equals(tarBytes));
  assert.equal(fs.existsSync(path.join(root, 'tiny.tar.part')), false);
  assertExtracted(root);
  assert.ok(lines.some((l) => l.includes(`sha256 ${tarSha} verified`)), lines.join('\n'));

  const again = await run(root, [entry()], lines);
  assert.equal(again[0].action, 'skipped');
  assert.equal(again[0].sha256, tarSha);
  fs.rmSync(path.join(root, 'tiny.tar'));
  assert.equal((await run(root, [entry()], lines))[0].action, 'skipped', 'the archive may be deleted after extraction');
  assert.equal(server.seen.length, 2, 'the re-runs made no request');

  fs.rmSync(path.join(root, 'benchmark'), { recursive: true });
  const redo = await run(root, [entry()], lines);
  assert.equal(redo[0].action, 'downloaded', 'the extracted folder is gone: fetched again');
  assertExtracted(root);
});

test('resume: a transfer cut half-way keeps the .part; the next run asks for Range: bytes=N- and completes it', async () => {
  server.reset();
  const root = newRoot();
  const half = Math.floor(tarBytes.length / 2);
  server.dropOnce = half;
  const lines: string[] = [];
  await assert.rejects(run(root, [entry()], lines, { retries: 0 }), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^tiny\.tar: the download broke off at \d+ bytes .*tiny\.tar\.part is kept: run the fetch again to resume$/);
    return true;
  });
  const kept = fs.statSync(path.join(root, 'tiny.tar.part')).size;
  assert.equal(kept, half, 'every byte that arrived before the cut is in the .part');
  assert.ok(tarBytes.subarray(0, kept).equals(fs.readFileSync(path.join(root, 'tiny.tar.part'))));
  assert.equal(fs.existsSync(path.join(root, 'tiny.tar')), false);

  const [r] = await run(root, [entry()], lines);
  assert.deepEqual(server.seen.map((s) => s.range), [undefined, `bytes=${kept}-`]);
  assert.equal(server.sent, half + tarBytes.length - kept);
  assert.deepEqual([r.action, r.sha256, r.verified], ['resumed', tarSha, true]);
  assertExtracted(root);

  // Within one run: the cut transfer is resumed at once (retries), from where it stopped.
  server.reset();
  server.dropOnce = half;
  const root2 = newRoot();
  const [r2] = await run(root2, [entry()], lines, { retries: 1 });
  assert.equal(server.seen.length, 2);
  assert.equal(server.seen[1].range, `bytes=${half}-`);
  assert.equal(server.sent, tarBytes.length);
  assert.deepEqual([r2.action, r2.sha256], ['downloaded', tarSha]);
});

test('a kept .part is resumed, not restarted; a server that ignores Range restarts it; a complete .part gets a 416', async () => {
  const lines: string[] = [];
  const k = 30000;
  server.reset();
  const root = newRoot();
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'tiny.tar.part'), tarBytes.subarray(0, k));
  const [r] = await run(root, [entry()], lines);
  assert.deepEqual(server.seen, [{ url: '/a.tar', range: `bytes=${k}-` }]);
  assert.equal(server.sent, tarBytes.length - k, 'only the missing bytes were sent');
  assert.deepEqual([r.action, r.sha256], ['resumed', tarSha]);
  assert.ok(fs.readFileSync(path.join(root, 'tiny.tar')).equals(tarBytes));

  server.reset();
  server.ignoreRange = true;
  const root2 = newRoot();
  fs.mkdirSync(root2, { recursive: true });
  fs.writeFileSync(path.join(root2, 'tiny.tar.part'), tarBytes.subarray(0, k));
  const [r2] = await run(root2, [entry()], lines);
  assert.equal(server.seen[0].range, `bytes=${k}-`);
  assert.deepEqual([r2.action, r2.sha256], ['downloaded', tarSha], 'a 200 reply rewrote the .part from zero');
  assert.ok(lines.some((l) => l.includes('ignored the range request')));

  server.reset();
  const root3 = newRoot();
  fs.mkdirSync(root3, { recursive: true });
  fs.writeFileSync(path.join(root3, 'tiny.tar.part'), tarBytes);
  const [r3] = await run(root3, [entry({ size: null })], lines);
  assert.deepEqual(server.seen, [{ url: '/a.tar', range: `bytes=${tarBytes.length}-` }]);
  assert.equal(server.sent, 0);
  assert.deepEqual([r3.action, r3.sha256], ['resumed', tarSha]);
});

test('checksum mismatch: the error names the file and both hashes, the download becomes .bad, no final file', async () => {
  server.reset();
  const root = newRoot();
  const wrong = sha256(Buffer.from('not the archive'));
  await assert.rejects(run(root, [entry({ sha256: wrong })], []), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.ok(e.message.startsWith('tiny.tar: sha256 mismatch: '), e.message);
    assert.ok(e.message.includes(`expected ${wrong}`) && e.message.includes(`got ${tarSha}`), e.message);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
  assert.equal(fs.existsSync(path.join(root, 'tiny.tar')), false);
  assert.equal(fs.existsSync(path.join(root, 'tiny.tar.part')), false);
  assert.ok(fs.readFileSync(path.join(root, 'tiny.tar.bad')).equals(tarBytes));
  assert.equal(fs.existsSync(path.join(root, 'benchmark')), false, 'nothing extracted');

  const root2 = newRoot();
  await assert.rejects(run(root2, [entry({ size: tarBytes.length + 1 })], []),
    new RegExp(`^UserError: tiny\\.tar: size mismatch: expected ${tarBytes.length + 1} bytes, got ${tarBytes.length} `));
});

test('an archive put in place by hand is checked, not downloaded; an unknown hash is reported as not verified', async () => {
  server.reset();
  const root = newRoot();
  fs.mkdirSync(root, { recursive: true });
  fs.writeFileSync(path.join(root, 'tiny.tar'), tarBytes);
  const lines: string[] = [];
  const [r] = await run(root, [entry({ url: server.url('/gone.tar'), sha256: null, hashSource: NOT_VERIFIED, size: null })], lines);
  assert.equal(server.seen.length, 0);
  assert.deepEqual([r.action, r.sha256, r.verified, r.extracted], ['found', tarSha, false, 'extracted']);
  assert.ok(lines.some((l) => l.includes(`sha256 ${tarSha}, ${tarBytes.length} bytes: NOT verified (${NOT_VERIFIED})`)), lines.join('\n'));
  assertExtracted(root);
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function assertOffline(e: unknown, code: RegExp, root: string, entries: ManifestEntry[]): true {
  assert.ok(e instanceof FetchOfflineError, String(e));
  const lines = e.message.split('\n');
  assert.match(lines[0], code);
  assert.match(lines[0], /Download these by hand/);
  assert.equal(lines.length, 1 + entries.length, 'one line per archive');
  entries.forEach((x, i) => {
    assert.ok(lines[1 + i].includes(x.url) && lines[1 + i].includes(`-> ${path.join(root, x.file)} `), lines[1 + i]);
    assert.ok(lines[1 + i].includes(x.layout), lines[1 + i]);
  });
  assert.deepEqual(e.missing.map((x) => x.name), entries.map((x) => x.name));
  return true;
}

test('offline: refused, unresolvable, no connection and no reply each stop at once with the manual-download lines', { timeout: 60000 }, async () => {
  server.reset();
  const port = await closedPort();
  const a = entry({ url: `http://127.0.0.1:${port}/a.tar` });
  const b = entry({ name: 'tiny2', file: 'tiny2.tar', url: `http://127.0.0.1:${port}/b.tar` });
  const root = newRoot();
  await assert.rejects(run(root, [a, b], []), (e) => assertOffline(e, /^cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED/, root, [a, b]));
  assert.equal(fs.existsSync(path.join(root, 'tiny.tar.part')), false);

  // Host-name failures through an injected resolver (no real DNS query).
  const named = entry({ url: 'http://archive.example.invalid/a.tar' });
  const notFound: net.LookupFunction = (host, _o, cb) => cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
  await assert.rejects(run(root, [named], [], { lookup: notFound }), (e) => assertOffline(e, /^cannot reach archive\.example\.invalid \(ENOTFOUND/, root, [named]));
  const never: net.LookupFunction = () => {};
  await assert.rejects(run(root, [named], [], { lookup: never, timeouts: { connectMs: 300 } }),
    (e) => assertOffline(e, /^cannot reach archive\.example\.invalid \(ETIMEDOUT: no connection within 300 ms\)/, root, [named]));

  const silent = entry({ url: server.url('/silent') });
  await assert.rejects(run(root, [silent], [], { timeouts: { responseMs: 300 } }),
    (e) => assertOffline(e, /^cannot reach 127\.0\.0\.1:\d+ \(ETIMEDOUT: no reply within 300 ms\)/, root, [silent]));
  assert.deepEqual(server.seen.map((s) => s.url), ['/silent']);
});

test('a missing extraction tool is named; the checked archive stays for the next run', async () => {
  server.reset();
  const root = newRoot();
  const emptyBin = path.join(tmp, 'empty-bin');
  fs.mkdirSync(emptyBin, { recursive: true });
  const savedPath = process.env.PATH;
  process.env.PATH = emptyBin;
  try {
    await assert.rejects(run(root, [entry()], []), /^UserError: tar not found: install it \(apt-get install tar\) or extract .*tiny\.tar into /);
  } finally {
    process.env.PATH = savedPath;
  }
  assert.ok(fs.readFileSync(path.join(root, 'tiny.tar')).equals(tarBytes));
  const [r] = await run(root, [entry()], []);
  assert.deepEqual([r.action, r.extracted], ['found', 'extracted']);
  assert.equal(server.seen.length, 1, 'downloaded once');
  assertExtracted(root);
});

const hasZip = ['zip', 'unzip'].every((t) => { try { execFileSync(t, ['-v'], { stdio: 'ignore' }); return true; } catch { return false; } });

test('zip archives extract with unzip into the DIV2K layout', { skip: !hasZip && 'zip or unzip is not installed' }, async () => {
  server.reset();
  const zdir = path.join(tmp, 'zsrc');
  const rel = 'DIV2K_train_LR_bicubic/X2/0001x2.png';
  fs.mkdirSync(path.join(zdir, path.dirname(rel)), { recursive: true });
  fs.writeFileSync(path.join(zdir, rel), noise(20000, 3));
  execFileSync('zip', ['-q', '-r', path.join(tmp, 'x2.zip'), 'DIV2K_train_LR_bicubic'], { cwd: zdir });
  server.body = fs.readFileSync(path.join(tmp, 'x2.zip'));
  const root = newRoot();
  const [r] = await run(root, [entry({ file: 'x2.zip', format: 'zip', size: server.body.length, sha256: sha256(server.body), creates: ['DIV2K_train_LR_bicubic/X2'] })], []);
  assert.equal(r.extracted, 'extracted');
  assert.ok(fs.readFileSync(path.join(root, rel)).equals(noise(20000, 3)));
  await assert.rejects(run(newRoot(), [entry({ file: 'x2.zip', format: 'zip', size: null, sha256: null, hashSource: NOT_VERIFIED, creates: ['DIV2K_train_HR'] })], []),
    /x2\.zip: extracted, but DIV2K_train_HR is missing under .*the archive's layout differs from the manifest/);
});

test('manifest: the shipped one lists the official archives with unverified hashes; errors name the entry and field', () => {
  const m = loadManifest();
  const names = m.entries.map((e) => e.name);
  for (const n of ['DIV2K_train_HR', 'DIV2K_valid_HR', 'DIV2K_train_LR_bicubic_X2', 'DIV2K_train_LR_bicubic_X3', 'DIV2K_train_LR_bicubic_X4', 'benchmark']) {
    assert.ok(names.includes(n), n);
  }
  for (const e of m.entries) {
    assert.equal(e.sha256, null, `${e.name}: no hash could be read from its source here`);
    assert.equal(e.hashSource, NOT_VERIFIED);
    assert.match(e.url, e.group === 'div2k' ? /^https:\/\/data\.vision\.ee\.ethz\.ch\/cvl\/DIV2K\/DIV2K_\w+\.zip$/ : /^https:\/\/cv\.snu\.ac\.kr\/research\/EDSR\/benchmark\.tar$/);
    assert.equal(e.url.split('/').pop(), e.file);
  }
  assert.deepEqual(selectEntries(m, ['benchmark']).map((e) => e.name), ['benchmark']);
  assert.deepEqual(selectEntries(m, ['div2k']).length, m.entries.length - 1);
  assert.deepEqual(selectEntries(m, ['DIV2K_valid_HR', 'benchmark.tar']).map((e) => e.name), ['DIV2K_valid_HR', 'benchmark']);
  assert.throws(() => selectEntries(m, ['div3k']), /^UserError: --only: 'div3k' is not in .*manifest\.json \(groups: div2k, benchmark; names: DIV2K_train_HR/);

  const good = { name: 'x', group: 'g', url: 'https://host.test/x.zip', file: 'x.zip', size: null, sha256: null, hashSource: NOT_VERIFIED, format: 'zip', extractTo: '.', creates: ['x'], layout: 'x/1.png' };
  const bad = (over: Record<string, unknown>, re: RegExp) => assert.throws(() => parseManifest({ entries: [good, { ...good, name: 'y', file: 'y.zip', ...over }] }, 'm.json'), re);
  bad({ sha256: 'ABC' }, /^UserError: m\.json: entries\[1\] \(y\): field 'sha256' must be 64 lowercase hex digits or null$/);
  bad({ hashSource: 'the web site' }, /entries\[1\] \(y\): field 'hashSource' must be "not verified from its source" when sha256 is null/);
  bad({ sha256: 'a'.repeat(64) }, /entries\[1\] \(y\): field 'hashSource' must say where the sha256 was read from/);
  bad({ url: 'ftp://host.test/y.zip' }, /entries\[1\] \(y\): field 'url' must be http: or https:/);
  bad({ file: '../y.zip' }, /entries\[1\] \(y\): field 'file' must be a plain file name/);
  bad({ extractTo: '../elsewhere' }, /entries\[1\] \(y\): field 'extractTo' must be a relative path inside the data root/);
  bad({ size: -3 }, /entries\[1\] \(y\): field 'size' must be a positive integer/);
  bad({ format: 'rar' }, /entries\[1\] \(y\): field 'format' must be "zip" or "tar", got "rar"/);
  bad({ sha: null }, /entries\[1\] \(y\): unknown field 'sha'/);
  bad({ name: 'x' }, /entries\[1\] \(x\): field 'name' repeats 'x'/);
  const { layout: _dropped, ...noLayout } = good;
  assert.throws(() => parseManifest({ entries: [noLayout] }, 'm.json'), /^UserError: m\.json: entries\[0\] \(x\): field 'layout' is missing$/);
  const file = path.join(tmp, 'broken.json');
  fs.writeFileSync(file, '{"entries": [');
  assert.throws(() => loadManifest(file), new RegExp(`^UserError: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON`));
});

/** Runs bin/ddtb asynchronously (the test server must keep answering meanwhile). */
function ddtb(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(path.join(repoRoot, 'bin', 'ddtb'), args, { timeout: 120000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

test('CLI: ddtb fetch downloads and prints the summary; offline it exits 2 with one line per archive', { timeout: 240000 }, async () => {
  server.reset();
  const manifestFile = path.join(tmp, 'cli-manifest.json');
  const e = { name: 'tiny', group: 'test', url: server.url('/a.tar'), file: 'tiny.tar', size: null, sha256: tarSha, hashSource: 'computed by this test', format: 'tar', extractTo: 'sets', creates: ['benchmark/Tiny/HR'], layout: 'benchmark/Tiny/HR/img_001.png' };
  fs.writeFileSync(manifestFile, JSON.stringify({ entries: [e] }));
  const root = newRoot();
  const ok = await ddtb(['fetch', '--manifest', manifestFile, '--data', root]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), `tiny  downloaded  ${(tarBytes.length / 1024).toFixed(1)} KiB  sha256 ${tarSha} verified  extract: extracted`);
  assertExtracted(path.join(root, 'sets'));

  const port = await closedPort();
  const offline = [
    { ...e, url: `http://127.0.0.1:${port}/a.tar` },
    { ...e, name: 'tiny2', file: 'tiny2.tar', url: `http://127.0.0.1:${port}/b.tar` },
  ];
  fs.writeFileSync(manifestFile, JSON.stringify({ entries: offline }));
  const root2 = newRoot();
  const res = await ddtb(['fetch', '--manifest', manifestFile, '--data', root2, '--only', 'test']);
  assert.equal(res.code, 2, res.stderr);
  const lines = res.stderr.trim().split('\n');
  assert.match(lines[0], /^ddtb: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED.*Download these by hand/);
  assert.equal(lines.length, 3, res.stderr);
  assert.equal(lines[1], `  ${offline[0].url} -> ${path.join(root2, 'tiny.tar')} (extracted into ${path.join(root2, 'sets')}: ${e.layout})`);
  assert.ok(lines[2].startsWith(`  ${offline[1].url} -> ${path.join(root2, 'tiny2.tar')} `), lines[2]);
  assert.equal(res.stdout, '');
});
