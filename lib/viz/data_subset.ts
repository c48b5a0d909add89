/**
 * A small data root cut from a larger one, for the smoke budget of notebooks that drive the CLI
 * (`ddtb experiment --data DIR`): chosen benchmark images (HR and their standard LR files) and the
 * first images of training folders, copied (not linked) into a fresh folder with the same layout
 * (lib/data/folders.ts), so every tool reads it as it reads the full root.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../errors';
import { benchmarkSetDir, compareNames } from '../data/folders';
import { isImageFile } from '../data/image';

export interface DataSubsetRequest {
  /** The source data root (absolute, or relative to the working directory). */
  readonly from: string;
  /** The folder to create; an existing one is replaced. */
  readonly to: string;
  /** Benchmark images by set, names without `.png` (`{ Set5: ['bird'] }`). */
  readonly benchmarks?: Readonly<Record<string, readonly string[]>>;
  /** Training folders (`<name>/HR/*` or `<name>/*`) and how many of their first images (by name) to copy. */
  readonly training?: Readonly<Record<string, number>>;
}

export interface DataSubset {
  readonly root: string;
  /** Copied files, relative to the new root, sorted. */
  readonly files: string[];
}

function copy(fromFile: string, toFile: string): void {
  fs.mkdirSync(path.dirname(toFile), { recursive: true });
  fs.copyFileSync(fromFile, toFile);
}

/** Copies the requested images into `to` (built in a temporary folder, then renamed into place). */
export function copyDataSubset(request: DataSubsetRequest): DataSubset {
  const from = path.resolve(request.from);
  const to = path.resolve(request.to);
  const tmp = `${to}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const files: string[] = [];
  const add = (src: string, rel: string) => { copy(src, path.join(tmp, rel)); files.push(rel); };
  try {
    for (const [set, names] of Object.entries(request.benchmarks ?? {})) {
      const dir = benchmarkSetDir(from, set);
      if (dir === null) throw new UserError(`data subset: set ${set}: no ${path.join(set, 'HR')} in ${from}`);
      const lrRoot = path.join(dir, 'LR_bicubic');
      const scales = fs.existsSync(lrRoot) ? fs.readdirSync(lrRoot).filter((d) => /^X\d+$/.test(d)) : [];
      for (const name of names) {
        const hr = path.join(dir, 'HR', `${name}.png`);
        if (!fs.existsSync(hr)) throw new UserError(`data subset: ${set}/HR/${name}.png not found in ${from}`);
        add(hr, path.join(set, 'HR', `${name}.png`));
        for (const x of scales) {
          const lr = path.join(lrRoot, x, `${name}${x.toLowerCase()}.png`);
          if (fs.existsSync(lr)) add(lr, path.join(set, 'LR_bicubic', x, path.basename(lr)));
        }
      }
    }
    for (const [name, count] of Object.entries(request.training ?? {})) {
      if (!Number.isInteger(count) || count < 1) throw new UserError(`data subset: training ${name}: count ${count} must be a positive integer`);
      const withHr = path.join(from, name, 'HR');
      const dir = fs.existsSync(withHr) ? withHr : path.join(from, name);
      if (!fs.existsSync(dir)) throw new UserError(`data subset: training folder ${name} not found in ${from}`);
      const images = fs.readdirSync(dir).filter(isImageFile).sort(compareNames);
      if (images.length < count) throw new UserError(`data subset: training ${name} has ${images.length} images, ${count} requested`);
      const rel = path.relative(from, dir);
      for (const f of images.slice(0, count)) add(path.join(dir, f), path.join(rel, f));
    }
    if (files.length === 0) throw new UserError('data subset: nothing requested');
    fs.rmSync(to, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.renameSync(tmp, to);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { root: to, files: files.sort() };
}
