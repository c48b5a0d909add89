/**
 * Where the data lives and what a data root holds (layouts in data/README.md).
 *
 * The data root comes from `--data DIR` or the environment variable `DDTB_DATA`. A relative path
 * resolves against the repository root, not the working directory, so the CLI, the tests and a
 * notebook running in `notebooks/` all find the same folder (`.ci/run` sets DDTB_DATA=../shared/data).
 *
 * A root holds any of:
 * - benchmark sets, EDSR layout: `<Set>/HR/*.png`, optional `<Set>/LR_bicubic/X<s>/<name>x<s>.png`,
 *   directly under the root or under `<root>/benchmark/` (where EDSR's benchmark pack unpacks);
 * - the DIV2K layout: `DIV2K_train_HR/0001.png` with `DIV2K_train_LR_bicubic/X<s>/0001x<s>.png`
 *   (directly under the root or under `<root>/DIV2K/`), and likewise `DIV2K_valid_*`;
 * - training folders: `<Name>/HR/*` of PNG, JPEG or BMP images without PNGs (T91's BMPs), or
 *   `<Name>/*` images directly.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../errors';
import { repoRoot } from '../paths';
import { isImageFile } from './image';

/** The name `openTrainingSet` and `scanDataRoot` use for the DIV2K layout. */
export const DIV2K_NAME = 'DIV2K';

export interface DataRootContents {
  /** Benchmark sets (`<Set>/HR/*.png`), sorted. */
  readonly benchmarkSets: string[];
  /** Training folders: `DIV2K` when its layout is present, then other image folders, sorted. */
  readonly trainingFolders: string[];
}

/**
 * The data root as an absolute path: `option` (from --data) if given, else DDTB_DATA. Relative paths
 * resolve against the repository root. Throws a UserError naming the path when it is unset,
 * missing, not a folder, or holds no data set.
 */
export function resolveDataRoot(option?: string): string {
  const fromOption = option !== undefined && option !== '';
  const given = fromOption ? option : process.env.DDTB_DATA;
  if (given === undefined || given === '') {
    throw new UserError('no data root: set --data DIR or DDTB_DATA (a relative path is taken from the repository root)');
  }
  const root = path.resolve(repoRoot, given);
  const source = fromOption ? '--data' : 'DDTB_DATA';
  const label = `data root ${given} (${source}${root === given ? '' : `, = ${root}`})`;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new UserError(`${label}: not found (set --data DIR or DDTB_DATA; relative paths start at the repository root)`);
  }
  if (!stat.isDirectory()) throw new UserError(`${label}: not a directory (set --data DIR or DDTB_DATA to a folder of data sets)`);
  const found = scanDataRoot(root);
  if (found.benchmarkSets.length === 0 && found.trainingFolders.length === 0) {
    throw new UserError(`${label}: no data sets found (expected <Set>/HR/*.png or a training folder such as T91/HR/*.bmp or DIV2K_train_HR/)`);
  }
  return root;
}

/** Lists the data sets under `root` (no error when there are none). */
export function scanDataRoot(root: string): DataRootContents {
  const benchmarkSets: string[] = [];
  const trainingFolders: string[] = [];
  if (div2kHrFolders(root).length > 0) trainingFolders.push(DIV2K_NAME);
  for (const entry of listDirs(root)) {
    if (entry === 'DIV2K' || entry.startsWith('DIV2K_')) continue;
    const dir = path.join(root, entry);
    const hr = path.join(dir, 'HR');
    if (isDir(hr)) {
      const files = imageFiles(hr);
      if (files.some(isPng)) benchmarkSets.push(entry);
      else if (files.length > 0) trainingFolders.push(entry);
    } else if (imageFiles(dir).length > 0) {
      trainingFolders.push(entry);
    }
  }
  for (const entry of listDirs(path.join(root, BENCHMARK_SUBFOLDER))) {
    if (!benchmarkSets.includes(entry) && imageFiles(path.join(root, BENCHMARK_SUBFOLDER, entry, 'HR')).some(isPng)) benchmarkSets.push(entry);
  }
  return { benchmarkSets: benchmarkSets.sort(compareNames), trainingFolders };
}

/** The subfolder EDSR's benchmark pack unpacks into (`benchmark/Set5/HR/...`). */
export const BENCHMARK_SUBFOLDER = 'benchmark';

/**
 * The folder of benchmark set `set`: `<root>/<set>` when it has an `HR` folder, else
 * `<root>/benchmark/<set>` when that has one, else null.
 */
export function benchmarkSetDir(root: string, set: string): string | null {
  for (const dir of [path.join(root, set), path.join(root, BENCHMARK_SUBFOLDER, set)]) {
    if (isDir(path.join(dir, 'HR'))) return dir;
  }
  return null;
}

/** One DIV2K split folder pair: HR images and the LR_bicubic parent (which may not exist). */
export interface Div2kFolders {
  readonly hrDir: string;
  readonly lrDir: string;
}

/**
 * The DIV2K HR folders present under `root`, train before valid: `<root>/DIV2K_train_HR` or
 * `<root>/DIV2K/DIV2K_train_HR` (the first base that has one is used), with `DIV2K_*_LR_bicubic` beside it.
 */
export function div2kHrFolders(root: string): Div2kFolders[] {
  for (const base of [root, path.join(root, 'DIV2K')]) {
    const found = (['train', 'valid'] as const)
      .map((split) => ({ hrDir: path.join(base, `DIV2K_${split}_HR`), lrDir: path.join(base, `DIV2K_${split}_LR_bicubic`) }))
      .filter((f) => isDir(f.hrDir));
    if (found.length > 0) return found;
  }
  return [];
}

/** Image files (PNG, JPEG, BMP) directly in `dir`, sorted by name; [] when `dir` is not a folder. */
export function imageFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => isImageFile(n) && !n.startsWith('.')).sort(compareNames);
}

/**
 * Name order used everywhere: numeric runs compare as numbers, so `t2` < `t10` and `0009` < `0010`;
 * ties fall back to plain code-unit order, which keeps the order total and platform-independent.
 */
export function compareNames(a: string, b: string): number {
  const ta = a.match(/\d+|\D+/g) ?? [], tb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const x = ta[i], y = tb[i];
    if (x === y) continue;
    const nx = /^\d/.test(x), ny = /^\d/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  if (ta.length !== tb.length) return ta.length - tb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isPng(file: string): boolean {
  return path.extname(file).toLowerCase() === '.png';
}

export function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function listDirs(root: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDir(path.join(root, e.name)))))
    .map((e) => e.name)
    .sort(compareNames);
}
