import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { ZipError, ZipReader, buildZip, crc32 } from '../../lib/io/zip';
import { repoRoot, sharedPath } from '../helpers';

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('buildZip -> ZipReader round trip keeps order and bytes; data is 64-byte aligned', () => {
  const entries = [
    { name: 'a/data.pkl', data: Buffer.from('pickle bytes') },
    { name: 'a/data/0', data: Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff) },
    { name: 'a/data/1', data: new Uint8Array(0) },
    { name: 'a/grüße', data: Buffer.from('x') },
  ];
  const zip = buildZip(entries);
  const r = new ZipReader(zip);
  assert.deepEqual(r.names(), entries.map((e) => e.name));
  for (const e of entries) {
    assert.ok(Buffer.from(r.read(e.name)).equals(Buffer.from(e.data)), e.name);
    const entry = r.entries.get(e.name)!;
    const view = new DataView(zip.buffer, zip.byteOffset);
    const start = entry.localHeaderOffset + 30 + view.getUint16(entry.localHeaderOffset + 26, true) + view.getUint16(entry.localHeaderOffset + 28, true);
    assert.equal(start % 64, 0, `${e.name} starts at ${start}`);
  }
  assert.deepEqual(buildZip(entries), zip, 'deterministic output');
});

test('reads torch-written archives (zip64 end record, data descriptors) and python deflate archives', () => {
  const torch = new ZipReader(fs.readFileSync(sharedPath('weights', 'edsr8_x2.pt')));
  assert.equal(torch.names().length, 46);
  assert.equal(torch.names()[0], 'edsr8_x2/data.pkl');
  assert.equal(Buffer.from(torch.read('edsr8_x2/version')).toString().trim(), '3');
  const stored = new ZipReader(fs.readFileSync(path.join(repoRoot, 'test/io/fixtures/mixed_zip.pt')));
  const deflated = new ZipReader(fs.readFileSync(path.join(repoRoot, 'test/io/fixtures/mixed_deflated.pt')));
  assert.equal(deflated.entries.get('ckpt_v1_export/data.pkl')!.method, 8);
  assert.deepEqual(deflated.names(), stored.names());
  for (const n of stored.names()) assert.ok(Buffer.from(deflated.read(n)).equals(stored.read(n)), n);
});

test('damaged archives raise ZipErrors that say what is wrong', () => {
  const zip = buildZip([{ name: 'x/data.pkl', data: Buffer.from('hello world') }]);
  assert.throws(() => new ZipReader(zip.subarray(0, zip.length - 1)), (e: unknown) => e instanceof ZipError && e.message === 'truncated zip (central directory not found)');
  const bad = Buffer.from(zip);
  bad[66] ^= 1; // inside the data (bytes 64..74)
  assert.throws(() => new ZipReader(bad).read('x/data.pkl'), /corrupt zip entry x\/data\.pkl \(CRC mismatch\)/);
  const cd = Buffer.from(zip);
  cd.writeUInt32LE(0x12345678, cd.length - 22 - 46 - 'x/data.pkl'.length); // central directory signature
  assert.throws(() => new ZipReader(cd), /corrupt zip \(central directory entry 0 of 1 is damaged\)/);
  assert.throws(() => new ZipReader(zip).read('nope'), /no entry 'nope'/);
});
