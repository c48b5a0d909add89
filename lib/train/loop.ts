/**
 * The DDTB trainer (issue 5, spec 4 and 7, appendix B): one loop whose schedule is data.
 *
 * Per epoch (`phaseAt`):
 * - statistics: the student runs in eval mode with every quantizer in `float` mode, recording each
 *   batch's max and min; no update. The validation images then pass too (the official code's Set14
 *   evaluation after epoch 1 joins the statistics). Dynamic intensity picks the dynamic layers.
 * - first stage: static bounds; the selected layers' gates run and their pre-sigmoid outputs are
 *   pulled to 0 (beta = 1) by the mean-squared regulariser.
 * - second stage: dynamic bounds on the selected layers, no regulariser.
 * Per iteration: teacher forward (eval, no gradient) -> student forward -> L1 + 1000 x AT (+ reg)
 * -> backward -> Adam (bounds in their own group). Learning rates follow StepLR through the plan.
 *
 * Every random draw comes from our PRNG (the sampler's, and one for random layer selection), so a
 * checkpoint holds the whole state and `resume` continues bit for bit. Checkpoints are written every
 * `run.checkpointEvery` iterations and at the end of every epoch, atomically.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { TrainConfig } from './config';
import { Adam } from './adam';
import { phaseAt, totalIterations, EpochPlan } from './schedule';
import { l1Loss, attentionTransferLoss, gateLogitRegularizer } from './losses';
import { RunLog, truncateRunLog, IterationRecord } from './run_log';
import { checkBounds, checkLoss, TrainingFailure } from './guards';
import { chooseDynamicLayers, layerStatistics, setQuantMode, setWeightMode, DynamicChoice } from './statistics';
import { TrainState, readTrainCheckpoint, writeTrainCheckpoint, TRAIN_CHECKPOINT } from './train_checkpoint';
import { TrainData, openTrainData } from './train_data';
import { buildNetwork, quantGraphFor } from '../models/factory';
import { readWeights, loadWeights } from '../models/weights';
import { setDynamicLayers } from '../models/dynamic';
import { saveModel } from '../models/checkpoint';
import { SrNetwork, ActQuantizerModule } from '../models/types';
import { officialRecipe } from '../quant/recipe';
import { GateFactory } from '../quant/gate';
import { Prng } from '../data/prng';
import { variableGrads } from '../nn/gradients';
import { PatchSampler, batchTensors } from '../data/patches';
import { upscaleImage } from '../eval/upscale';
import { scorePair } from '../metrics/evaluate';
import { DEFAULT_PROTOCOL } from '../metrics/result';
import { repoRoot } from '../paths';
import { UserError } from '../errors';

export interface TrainOptions {
  readonly config: TrainConfig;
  /** The run folder (created). */
  readonly outDir: string;
  /** Continue from `outDir/checkpoint.safetensors`. */
  readonly resume?: boolean;
  /** Data root already resolved (else config.data.root / DDTB_DATA). */
  readonly dataRoot: string;
  /** Progress callback (the CLI draws a bar from it). */
  readonly onProgress?: (p: { iteration: number; total: number; epoch: number; phase: string; loss: number | null }) => void;
  /** Stop (without error) after this global iteration: interruptions in tests. */
  readonly stopAfter?: number;
  /** Extra metadata stored in the run's model files (commit, checksums). */
  readonly provenance?: Readonly<Record<string, string>>;
  /**
   * The gate design of the student's DDTB quantizers (default: the official gate, spec 3). Not part
   * of the config: a run trained with a custom gate must be resumed, and its model files loaded
   * (`loadModel(file, officialRecipe({ gate }), rng)`), with the same factory.
   */
  readonly gate?: GateFactory;
}

export interface TrainResult {
  readonly outDir: string;
  readonly iterations: number;
  readonly seconds: number;
  readonly dynamic: readonly string[];
  readonly ranking: readonly DynamicChoice['ranking'][number][];
  readonly best: { readonly epoch: number; readonly psnr: number } | null;
  /** The selected model (best validation epoch of the second stage, else the last). */
  readonly modelFile: string;
  readonly statisticsImages: { readonly training: readonly string[]; readonly evaluation: readonly string[] };
  readonly stopped: boolean;
}

interface BoundVars { readonly name: string; readonly upper: tf.Variable; readonly lower: tf.Variable | null }

/** The bound variables of each active quantizer (DDTB: u, l; PAMS: alpha). */
function boundVariables(student: SrNetwork): BoundVars[] {
  const out: BoundVars[] = [];
  for (const site of student.quant?.graph.acts ?? []) {
    if (!site.active) continue;
    const q = student.quant!.acts.get(site.name) as ActQuantizerModule & { variables?: () => { bounds: tf.Variable[] } };
    const vars = q.variables?.().bounds ?? [];
    if (vars.length) out.push({ name: site.name, upper: vars[0], lower: vars[1] ?? null });
  }
  return out;
}

function setDynamicBounds(student: SrNetwork, on: boolean): void {
  for (const q of student.quant?.acts.values() ?? []) {
    const d = q as unknown as { useDynamicBounds?: boolean };
    if (typeof d.useDynamicBounds === 'boolean') d.useDynamicBounds = on;
  }
}

/** Y-PSNR of `student` on the validation pairs (eval mode, whole images, batch 1). */
function validationPsnr(student: SrNetwork, data: TrainData): number | null {
  if (data.validation.length === 0) return null;
  let sum = 0;
  for (const pair of data.validation) {
    const sr = upscaleImage(student, pair.lr);
    const s = scorePair(sr, pair.hr, student.scale, DEFAULT_PROTOCOL);
    sum += s.psnr ?? 100;
  }
  return sum / data.validation.length;
}

/** Builds teacher and student from the config; the student starts from the teacher's weights. */
export async function buildPair(config: TrainConfig, rng: Prng, gate?: GateFactory): Promise<{ teacher: SrNetwork; student: SrNetwork }> {
  const teacherFile = path.resolve(repoRoot, config.teacher);
  if (!fs.existsSync(teacherFile)) throw new UserError(`teacher ${config.teacher}: not found (set teacher to the FP weights of a ${config.model.arch} x${config.model.scale})`);
  const weights = await readWeights(teacherFile);
  const teacher = buildNetwork(config.model, null, null, rng);
  try {
    loadWeights(teacher, weights);
  } catch (e) {
    teacher.dispose();
    throw new UserError(`teacher ${config.teacher}: not FP weights for ${config.model.arch} ${config.model.blocks} blocks x${config.model.scale}: ${(e as Error).message}`);
  }
  teacher.eval();
  const q = config.quant;
  const graph = quantGraphFor(config.model, { bits: q.bits, act: q.act, ...(q.weight === 'default' ? {} : { weight: q.weight }) });
  const student = buildNetwork(config.model, graph, officialRecipe({ gate, gateGradient: q.gateGradient, calibration: q.calibration, rng }), rng);
  loadWeights(student, weights);
  return { teacher, student };
}

/** Runs (or resumes) a training run. See the module comment. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, outDir } = options;
  fs.mkdirSync(outDir, { recursive: true });
  const checkpointFile = path.join(outDir, TRAIN_CHECKPOINT);
  const logFile = path.join(outDir, 'log.jsonl');
  const started = Date.now();
  const schedule = config.schedule;
  const total = totalIterations(schedule);

  const data = await openTrainData(config, options.dataRoot);
  const { teacher, student } = await buildPair(config, Prng.fromSeed(config.run.seed), options.gate);
  const sampler = new PatchSampler(data.training, {
    scale: config.model.scale, patchSizeHR: config.data.patchSizeHR, batchSize: config.data.batchSize,
    seed: config.run.seed, repeat: config.data.repeat,
  });
  let selectionRng = Prng.fromSeed(config.run.seed + 7919);
  const bounds = boundVariables(student);
  const params = student.namedParameters();
  const adam = new Adam([
    { name: 'bound', learningRate: config.optim.boundLearningRate, params: params.filter(([, p]) => p.group === 'bound').map(([n, p]) => [n, p.variable] as const) },
    { name: 'base', learningRate: config.optim.baseLearningRate, params: params.filter(([, p]) => p.group === 'base').map(([n, p]) => [n, p.variable] as const) },
  ], { betas: config.optim.betas, eps: config.optim.eps });

  let state: TrainState = {
    iteration: 0, dynamic: [], ranking: [], statistics: null, statisticsImages: { training: [], evaluation: [] },
    best: null, lastFiniteLoss: null, seconds: 0, sampler: sampler.samplerState(), selectionRng: selectionRng.state(), adam: null,
    validation: [],
  };
  if (options.resume) {
    if (!fs.existsSync(checkpointFile)) throw new UserError(`--resume ${outDir}: no ${TRAIN_CHECKPOINT} there`);
    state = await readTrainCheckpoint(checkpointFile, student);
    sampler.restore(state.sampler);
    selectionRng = Prng.fromState(state.selectionRng);
    if (state.adam) adam.loadState(state.adam);
    if (state.dynamic.length) setDynamicLayers(student, state.dynamic);
    restoreStatistics(student, state.statistics);
    truncateRunLog(logFile, state.iteration);
  } else {
    fs.rmSync(logFile, { force: true });
  }
  const log = new RunLog(logFile);
  const elapsedBefore = state.seconds;
  const statsTraining = new Set(state.statisticsImages.training);

  const checkpoint = async () => {
    log.sync();
    state = {
      ...state, sampler: sampler.samplerState(), selectionRng: selectionRng.state(), adam: adam.state(),
      // Inside the statistics epoch(s) the recorded ranges are part of the state.
      statistics: state.iteration < schedule.statisticsEpochs * schedule.iterationsPerEpoch ? saveStatistics(student) : null,
      statisticsImages: { training: [...statsTraining], evaluation: state.statisticsImages.evaluation },
      seconds: elapsedBefore + (Date.now() - started) / 1000,
    };
    await writeTrainCheckpoint(checkpointFile, student, state, config);
  };
  const epochOf = (iteration: number) => Math.floor(iteration / schedule.iterationsPerEpoch) + 1;
  const zero = tf.scalar(0);
  let stopped = false;

  try {
    while (state.iteration < total) {
      const epoch = epochOf(state.iteration);
      const plan = phaseAt(schedule, epoch);
      preparePhase(student, plan);
      adam.setLearningRates(plan.learningRateFactor);
      const epochStart = Date.now();
      const lastInEpoch = epoch * schedule.iterationsPerEpoch;
      while (state.iteration < lastInEpoch) {
        const iteration = state.iteration + 1;
        const batch = sampler.nextBatch();
        const { lr, hr } = batchTensors(batch);
        let record: IterationRecord;
        try {
          if (plan.phase === 'statistics') {
            for (const n of batch.images) statsTraining.add(n);
            tf.tidy(() => { student.forward(lr); });
            record = statisticsRecord(iteration, epoch, plan, adam);
          } else {
            record = trainStep(iteration, epoch, plan, teacher, student, adam, bounds, lr, hr, config, zero, state.lastFiniteLoss);
          }
        } finally {
          tf.dispose([lr, hr]);
        }
        log.append(record);
        state = { ...state, iteration, lastFiniteLoss: plan.phase === 'statistics' ? state.lastFiniteLoss : record.loss };
        options.onProgress?.({ iteration, total, epoch, phase: plan.phase, loss: plan.phase === 'statistics' ? null : record.loss });
        const stopNow = options.stopAfter !== undefined && iteration >= options.stopAfter;
        if (iteration % config.run.checkpointEvery === 0 && iteration !== lastInEpoch) await checkpoint();
        if (stopNow) { stopped = true; break; }
      }
      if (stopped) break;
      // End of epoch: statistics -> layer choice; validation; model selection; checkpoint.
      if (plan.phase === 'statistics') {
        // The official code evaluates after epoch 1 with the quantizers still recording.
        validationPsnr(student, data);
        state = { ...state, statisticsImages: { training: [...statsTraining], evaluation: data.validation.map((p) => p.name) } };
        const choice = chooseDynamicLayers(layerStatistics(student), config.quant.act === 'ddtb' ? config.quant.dynamicRatio : 0, config.quant.selection, selectionRng);
        setQuantMode(student, 'quantize');
        setDynamicLayers(student, choice.selected);
        state = { ...state, dynamic: choice.selected, ranking: choice.ranking };
      }
      const psnr = plan.phase === 'statistics' ? null : withEval(student, () => validationPsnr(student, data));
      state = { ...state, validation: [...state.validation, { epoch, psnr }] };
      const selectable = plan.phase === 'second-stage' || (schedule.secondStage.fromEpoch > schedule.epochs && plan.phase !== 'statistics');
      if (selectable && psnr !== null && (state.best === null || psnr > state.best.psnr)) {
        state = { ...state, best: { epoch, psnr } };
        await saveModel(path.join(outDir, 'best.safetensors'), student, config.model, { ...options.provenance, epoch: String(epoch), selected_on: data.validationName });
      }
      log.append({ kind: 'epoch', epoch, iteration: state.iteration, phase: plan.phase, seconds: (Date.now() - epochStart) / 1000,
        validation: psnr === null ? null : { set: data.validationName, psnr }, ...(plan.phase === 'statistics' ? { dynamic: state.dynamic } : {}) });
      await checkpoint();
    }
    if (!stopped) await saveModel(path.join(outDir, 'last.safetensors'), student, config.model, { ...options.provenance });
  } finally {
    log.close();
    zero.dispose();
    adam.dispose();
    teacher.dispose();
    student.dispose();
  }
  const modelFile = path.join(outDir, state.best ? 'best.safetensors' : 'last.safetensors');
  return {
    outDir, iterations: state.iteration, seconds: elapsedBefore + (Date.now() - started) / 1000, dynamic: state.dynamic,
    ranking: state.ranking, best: state.best, modelFile, statisticsImages: state.statisticsImages, stopped,
  };
}

/** Runs `fn` with the student in eval mode, then restores its mode. */
function withEval<T>(student: SrNetwork, fn: () => T): T {
  const wasTraining = student.training;
  student.eval();
  try {
    return fn();
  } finally {
    student.train(wasTraining);
  }
}

/** Sets modes for an epoch: statistics = eval + float quantizers and weights; training = train + quantize. */
function preparePhase(student: SrNetwork, plan: EpochPlan): void {
  if (plan.phase === 'statistics') {
    student.eval();
    setQuantMode(student, 'float');
    setWeightMode(student, 'float');
  } else {
    student.train();
    setQuantMode(student, 'quantize');
    setWeightMode(student, 'quantize');
    setDynamicBounds(student, plan.dynamicBounds);
  }
}

function statisticsRecord(iteration: number, epoch: number, plan: EpochPlan, adam: Adam): IterationRecord {
  return { kind: 'iteration', iteration, epoch, phase: plan.phase, loss: 0, l1: 0, at: 0, reg: 0, learningRates: adam.learningRates(), bounds: {}, boundGrads: {}, gates: {} };
}

/** One optimisation step; returns its log record. Throws TrainingFailure on NaN/Inf or bad bounds. */
function trainStep(iteration: number, epoch: number, plan: EpochPlan, teacher: SrNetwork, student: SrNetwork, adam: Adam,
  bounds: readonly BoundVars[], lr: tf.Tensor4D, hr: tf.Tensor4D, config: TrainConfig, zero: tf.Scalar, lastFinite: number | null): IterationRecord {
  const teacherFeatures = tf.tidy(() => teacher.forward(lr).features);
  const terms = { l1: NaN, at: NaN, reg: 0 };
  const gates: Record<string, { betaUpperMean: number; betaLowerMean: number; betaUpperStd: number; betaLowerStd: number }> = {};
  const injectNaN = process.env.DDTB_INJECT_NAN_AT !== undefined && Number(process.env.DDTB_INJECT_NAN_AT) === iteration;
  let value: tf.Scalar;
  let grads: tf.NamedTensorMap;
  try {
    ({ value, grads } = variableGrads(() => {
      const out = student.forward(lr);
      const l1 = l1Loss(out.sr, hr);
      const at = attentionTransferLoss(out.features, teacherFeatures);
      const reg = plan.regularizerWeight > 0 && out.gateLogits.length > 0 ? gateLogitRegularizer(out.gateLogits.map((g) => g.logits)) : zero;
      terms.l1 = injectNaN ? NaN : l1.dataSync()[0];
      terms.at = at.dataSync()[0];
      terms.reg = reg.dataSync()[0];
      for (const g of out.gateLogits) {
        const beta = tf.mul(tf.sigmoid(tf.reshape(g.logits, [-1, 2])), 2);
        const { mean, variance } = tf.moments(beta, 0);
        const [mu, ml] = mean.dataSync();
        const [vu, vl] = variance.dataSync();
        gates[g.layer] = { betaUpperMean: mu, betaLowerMean: ml, betaUpperStd: Math.sqrt(vu), betaLowerStd: Math.sqrt(vl) };
      }
      let loss = tf.add(tf.mul(l1, config.loss.l1), tf.mul(at, config.loss.attentionTransfer));
      if (plan.regularizerWeight > 0) loss = tf.add(loss, tf.mul(reg, plan.regularizerWeight));
      return (injectNaN ? tf.mul(loss, NaN) : loss) as tf.Scalar;
    }, adam.variables()));
  } finally {
    teacherFeatures.dispose();
  }
  try {
    const loss = value.dataSync()[0];
    checkLoss(iteration, { l1: terms.l1, at: terms.at, reg: terms.reg, total: loss }, lastFinite);
    const boundGrads: Record<string, readonly [number, number]> = {};
    for (const b of bounds) {
      const gu = grads[b.upper.name]?.dataSync()[0] ?? 0;
      const gl = b.lower ? grads[b.lower.name]?.dataSync()[0] ?? 0 : -gu;
      boundGrads[b.name] = [gu, gl];
    }
    adam.step(grads);
    const after: Record<string, readonly [number, number]> = {};
    for (const b of bounds) {
      const u = b.upper.dataSync()[0];
      after[b.name] = [u, b.lower ? b.lower.dataSync()[0] : -u];
    }
    checkBounds(iteration, after);
    return { kind: 'iteration', iteration, epoch, phase: plan.phase, loss, l1: terms.l1, at: terms.at, reg: terms.reg,
      learningRates: adam.learningRates(), bounds: after, boundGrads, gates };
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

function saveStatistics(student: SrNetwork): Record<string, { maxima: number[]; minima: number[] }> {
  const out: Record<string, { maxima: number[]; minima: number[] }> = {};
  for (const s of layerStatistics(student)) out[s.name] = { maxima: [...s.maxima], minima: [...s.minima] };
  return out;
}

function restoreStatistics(student: SrNetwork, saved: TrainState['statistics']): void {
  if (!saved) return;
  for (const [name, q] of student.quant?.acts ?? []) {
    const rec = (q as unknown as { statistics?: { restore?(maxima: readonly number[], minima: readonly number[]): void } }).statistics;
    const s = saved[name];
    if (s && rec?.restore) rec.restore(s.maxima, s.minima);
  }
}

export { TrainingFailure };
