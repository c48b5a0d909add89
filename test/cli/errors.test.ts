/**
 * Bad input gives a one-line error naming the problem and a non-zero exit, never a stack trace:
 * a corrupt PNG, a corrupt BMP, an empty data folder, a missing set, an unknown option.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli, CliRun } from './run_cli';
import { dataRootForTests } from '../helpers';

function assertOneLineError(run: CliRun, pattern: RegExp): void {
  assert.notEqual(run.code, 0, 'exit status must be non-zero');
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected on stderr, got:\n${run.stderr}`);
  assert.match(lines[0], /^ddtb: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-cli-'));

test('a corrupt PNG in a benchmark set names the file', async () => {
  const root = path.join(tmp, 'png');
  fs.mkdirSync(path.join(root, 'Mine', 'HR'), { recursive: true });
  const good = fs.readFileSync(path.join(dataRootForTests(), 'Set5', 'HR', 'bird.png'));
  fs.writeFileSync(path.join(root, 'Mine', 'HR', 'broken.png'), good.subarray(0, good.length >> 1));
  const run = await runCli(['bicubic', '--data', root, '--sets', 'Mine', '--scales', '2']);
  assertOneLineError(run, /broken\.png: cannot decode image/);
});

test('a corrupt BMP in a training folder names the file (doctor --verify)', async () => {
  const root = path.join(tmp, 'bmp');
  fs.mkdirSync(path.join(root, 'T91', 'HR'), { recursive: true });
  const good = fs.readFileSync(path.join(dataRootForTests(), 'T91', 'HR', 't1.bmp'));
  fs.writeFileSync(path.join(root, 'T91', 'HR', 't1.bmp'), good.subarray(0, 4000));
  const run = await runCli(['doctor', '--data', root, '--verify']);
  assertOneLineError(run, /t1\.bmp: not a readable BMP: truncated pixel data/);
});

test('an empty data folder is refused', async () => {
  const root = path.join(tmp, 'empty');
  fs.mkdirSync(root, { recursive: true });
  const run = await runCli(['bicubic', '--data', root, '--sets', 'Set5']);
  assertOneLineError(run, /data root .*empty.*: no data sets found/);
});

test('a missing data folder is refused', async () => {
  const run = await runCli(['bicubic', '--data', path.join(tmp, 'nowhere'), '--sets', 'Set5']);
  assertOneLineError(run, /nowhere.*not found/);
});

test('a missing set lists the sets that exist', async () => {
  const run = await runCli(['bicubic', '--data', dataRootForTests(), '--sets', 'Set6', '--scales', '2']);
  assertOneLineError(run, /set Set6: not found .*sets there: B100, Set5, Set14, Urban100/);
});

test('an unknown option or command names it', async () => {
  assertOneLineError(await runCli(['bicubic', '--colour', 'y']), /unknown option '--colour'.*ddtb bicubic --help/);
  assertOneLineError(await runCli(['bicubc']), /unknown command 'bicubc'/);
  assertOneLineError(await runCli(['bicubic', '--gray', 'grey', '--data', dataRootForTests()]), /--gray: 'grey' is not one of replicate, raw/);
});
