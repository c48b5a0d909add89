/**
 * The trainer: exact resume (an interrupted run, resumed, gives bit-identical per-iteration losses and
 * final weights), a run killed with SIGKILL and resumed from the CLI, flat tensor counts over 200
 * iterations, and the failure paths (injected NaN, unknown config key, missing data, wrong teacher).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../lib/backend';
import { train } from '../../lib/train/loop';
import { readRunLog, IterationRecord } from '../../lib/train/run_log';
import { readSafetensors } from '../../lib/io/safetensors';
import { tinySetup } from './tiny_run';
import { dataRootForTests, repoRoot } from '../helpers';
import { runCli } from '../cli/run_cli';
import { quickPreset } from '../../lib/presets';

ensureBackend();
const root = dataRootForTests();

function losses(dir: string): number[] {
  return readRunLog(path.join(dir, 'log.jsonl')).filter((r): r is IterationRecord => r.kind === 'iteration').map((r) => r.loss);
}

async function modelTensors(file: string): Promise<Map<string, number[]>> {
  const st = await readSafetensors(file);
  return new Map([...st.tensors].map(([k, v]) => [k, Array.from(v.data as Float32Array, Number)]));
}

test('an interrupted run resumed from its checkpoint matches an uninterrupted one bit for bit', { timeout: 10 * 60 * 1000 }, async () => {
  const { dir, config } = await tinySetup();
  const whole = await train({ config, outDir: path.join(dir, 'whole'), dataRoot: root });
  const first = await train({ config, outDir: path.join(dir, 'parts'), dataRoot: root, stopAfter: 5 });
  assert.equal(first.stopped, true);
  const rest = await train({ config, outDir: path.join(dir, 'parts'), dataRoot: root, resume: true });
  assert.equal(rest.iterations, whole.iterations);
  assert.deepEqual(losses(path.join(dir, 'parts')), losses(path.join(dir, 'whole')));
  assert.equal(losses(path.join(dir, 'whole')).length, 12);
  assert.deepEqual(rest.dynamic, whole.dynamic);
  assert.deepEqual(await modelTensors(path.join(dir, 'parts', 'last.safetensors')), await modelTensors(path.join(dir, 'whole', 'last.safetensors')));
  // A resume that starts inside the statistics epoch carries the recorded ranges along.
  const early = await train({ config, outDir: path.join(dir, 'early'), dataRoot: root, stopAfter: 2 });
  assert.equal(early.iterations, 2);
  await train({ config, outDir: path.join(dir, 'early'), dataRoot: root, resume: true });
  assert.deepEqual(losses(path.join(dir, 'early')), losses(path.join(dir, 'whole')));
});

test('a CLI run killed with SIGKILL resumes with --resume to the same losses and weights', { timeout: 10 * 60 * 1000 }, async () => {
  const { dir, config } = await tinySetup({ schedule: { epochs: 4, iterationsPerEpoch: 6 }, run: { checkpointEvery: 3 } });
  const cfgFile = path.join(dir, 'run.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ model: config.model, teacher: config.teacher, data: config.data, schedule: config.schedule, run: config.run }));
  const args = (out: string) => ['train', '--config', cfgFile, '--data', root, '--out', out];
  const whole = await runCli(args(path.join(dir, 'whole')));
  assert.equal(whole.code, 0, whole.stderr);
  // Start the same run and kill it hard once it has written a checkpoint past the statistics epoch.
  const killed = path.join(dir, 'killed');
  const child = spawn(path.join(repoRoot, 'bin', 'ddtb'), args(killed), { stdio: 'ignore', detached: false });
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      try {
        const n = readRunLog(path.join(killed, 'log.jsonl')).length;
        if (n >= 12 && fs.existsSync(path.join(killed, 'checkpoint.safetensors'))) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      } catch { /* not started yet */ }
    }, 20);
    child.on('exit', () => { clearInterval(timer); resolve(); });
    child.on('error', reject);
  });
  await new Promise((r) => child.once('exit', r).once('close', r) && setTimeout(r, 500));
  const resumed = await runCli(['train', '--resume', killed, '--data', root]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(losses(killed), losses(path.join(dir, 'whole')));
  assert.deepEqual(await modelTensors(path.join(killed, 'last.safetensors')), await modelTensors(path.join(dir, 'whole', 'last.safetensors')));
});

test('200 training iterations keep tf.memory().numTensors flat', { timeout: 10 * 60 * 1000 }, async () => {
  const { dir, config } = await tinySetup({
    schedule: { epochs: 3, iterationsPerEpoch: 70, firstStage: { fromEpoch: 2, toEpoch: 2, regularizerWeight: 1 }, secondStage: { fromEpoch: 3 } },
    run: { checkpointEvery: 1000 },
  });
  const counts: number[] = [];
  const before = tf.memory().numTensors;
  await train({ config, outDir: path.join(dir, 'flat'), dataRoot: root, onProgress: () => counts.push(tf.memory().numTensors) });
  const training = counts.slice(70); // after the statistics epoch: first- and second-stage steps
  assert.ok(training.length >= 140);
  assert.ok(training.every((n) => n === training[0]), `tensor count moved: ${Math.min(...training)}..${Math.max(...training)}`);
  assert.equal(tf.memory().numTensors, before, 'everything is released when the run ends');
});

test('an injected NaN stops the run naming the iteration, keeps the last good checkpoint, exits non-zero', { timeout: 5 * 60 * 1000 }, async () => {
  const { dir, config } = await tinySetup();
  const cfgFile = path.join(dir, 'run.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ model: config.model, teacher: config.teacher, data: config.data, schedule: config.schedule, run: config.run }));
  const out = path.join(dir, 'nan');
  const run = await runCli(['train', '--config', cfgFile, '--data', root, '--out', out], { DDTB_INJECT_NAN_AT: '7' });
  assert.equal(run.code, 3, run.stderr);
  assert.match(run.stderr, /ddtb: iteration 7: loss term l1 is NaN .*stopped, the last checkpoint is kept/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  const st = await readSafetensors(path.join(out, 'checkpoint.safetensors'));
  assert.equal(JSON.parse(st.metadata.train_state).iteration, 6, 'the checkpoint of iteration 6 is intact');
  assert.deepEqual(fs.readdirSync(out).filter((f) => f.includes('.tmp')), []);
});

test('bad configurations are named errors with a non-zero exit', async () => {
  const { dir, config } = await tinySetup();
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ schedule: { epohcs: 3 } }));
  const unknown = await runCli(['train', '--config', bad, '--data', root, '--out', path.join(dir, 'x')]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /bad\.json: schedule\.epohcs: unknown key \(did you mean schedule\.epochs\?\)/);
  const typed = await runCli(['train', '--data', root, '--data.batchSize=many', '--out', path.join(dir, 'y')]);
  assert.match(typed.stderr, /data\.batchSize: expected a number/);
  const missing = await runCli(['train', '--data', path.join(dir, 'nowhere'), '--out', path.join(dir, 'z')]);
  assert.match(missing.stderr, /nowhere.*not found/);
  assert.notEqual(missing.code, 0);
  const cfgFile = path.join(dir, 'wrong.json');
  fs.writeFileSync(cfgFile, JSON.stringify({ model: { ...config.model, scale: 4 }, teacher: config.teacher, data: config.data, schedule: config.schedule }));
  const wrong = await runCli(['train', '--config', cfgFile, '--data', root, '--out', path.join(dir, 'w')]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /teacher .*teacher\.safetensors: not FP weights for edsr 2 blocks x4: .*does not fit the model/);
  assert.ok(!fs.existsSync(path.join(dir, 'w', 'checkpoint.safetensors')), 'no checkpoint written');
  void quickPreset;
});
