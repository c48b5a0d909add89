/** `ddtb doctor`: what this installation runs on and what it can find. */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { Command } from './command';
import { ensureBackend, describeBackend } from '../backend';
import { bufferPoolCapBytes } from '../backend/buffer_release';
import { repoRoot } from '../paths';
import { resolveDataRoot, scanDataRoot, benchmarkSetDir, imageFiles, div2kHrFolders, DIV2K_NAME } from '../data/folders';
import { readImage } from '../data/image';
import { UserError } from '../errors';

function version(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 }).trim().split('\n')[0];
  } catch {
    return null;
  }
}

function packageVersion(name: string): string | null {
  try {
    return JSON.parse(fs.readFileSync(require.resolve(`${name}/package.json`, { paths: [repoRoot] }), 'utf8')).version;
  } catch {
    return null;
  }
}

/** Node's own flags in `execArgv`, without the preloads (`-r X`, `--require X`, `--require=X`) that run the sources. */
/** What prompt release does with disposed native outputs, in words (or what is wrong with DDTB_BUFFER_POOL_MB). */
function bufferRelease(): string {
  let cap: number;
  try {
    cap = bufferPoolCapBytes();
  } catch (e) {
    return `broken: ${(e as Error).message}; every native kernel call will fail with it`;
  }
  const pool = cap > 0 ? `outputs of 256 KB or more kept for reuse up to ${cap / 1048576} MB (DDTB_BUFFER_POOL_MB), smaller ones freed` : 'outputs freed at once (DDTB_BUFFER_POOL_MB=0)';
  return `on: ${pool}; DDTB_RELEASE_BUFFERS=0 leaves them to V8`;
}

function nodeFlags(execArgv: readonly string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    if (execArgv[i] === '-r' || execArgv[i] === '--require') i++;
    else if (!execArgv[i].startsWith('--require=')) flags.push(execArgv[i]);
  }
  return flags;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'report backend, threads, versions, Jupyter and the TypeScript kernel, and the data sets found',
  options: {
    data: { type: 'string', value: 'DIR', help: 'data root to inspect (else DDTB_DATA)' },
    verify: { type: 'boolean', help: 'decode every image of every data set found (fails on the first bad file)' },
  },
  async run(options) {
    const info = ensureBackend();
    const rows: [string, string][] = [];
    rows.push(['backend', describeBackend(info)]);
    if (info.tfjsNodeReason) rows.push(['tfjs-node', info.tfjsNodeReason]);
    rows.push(['native kernels', info.native.loaded ? info.native.kernels.join(', ') : `none: ${info.native.reason}`]);
    if (info.native.library) rows.push(['native library', info.native.library]);
    if (info.native.loaded) rows.push(['buffer release', info.native.releasesBuffers ? bufferRelease() : 'off (DDTB_RELEASE_BUFFERS=0)']);
    rows.push(['threads', String(info.threads)]);
    rows.push(['node', process.version]);
    // bin/ddtb adds DDTB_NODE_FLAGS (scripts/runtime_env.sh); a plain `node` run has none.
    rows.push(['node flags', nodeFlags(process.execArgv).join(' ') || 'none']);
    rows.push(['tfjs', tf.version_core]);
    for (const p of ['sharp', 'tslab', 'plotly.js-dist', 'typescript']) rows.push([p, packageVersion(p) ?? 'not installed']);
    rows.push(['jupyter', version('jupyter', ['--version']) ? (version('jupyter-nbconvert', ['--version']) ? `nbconvert ${version('jupyter-nbconvert', ['--version'])}` : 'found') : 'not found (npm run setup installs it)']);
    const kernelDir = path.join(repoRoot, '.jupyter-local', 'share', 'jupyter', 'kernels', 'tslab');
    rows.push(['tslab kernel', fs.existsSync(path.join(kernelDir, 'kernel.json')) ? path.relative(repoRoot, kernelDir) : 'not registered (npm run setup writes it)']);
    const dataOption = typeof options.data === 'string' ? options.data : undefined;
    let root: string | null = null;
    if (dataOption !== undefined || process.env.DDTB_DATA) {
      root = resolveDataRoot(dataOption); // a bad --data is an error, not a line of the report
      const found = scanDataRoot(root);
      rows.push(['data root', path.relative(repoRoot, root) || '.']);
      rows.push(['benchmark sets', found.benchmarkSets.join(', ') || 'none']);
      rows.push(['training folders', found.trainingFolders.join(', ') || 'none']);
    } else {
      rows.push(['data root', 'not set (use --data DIR or DDTB_DATA)']);
    }
    const width = Math.max(...rows.map((r) => r[0].length)) + 2;
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}${v}`);
    if (options.verify) {
      if (!root) throw new UserError('--verify needs a data root (--data DIR or DDTB_DATA)');
      const count = await verifyImages(root);
      console.log(`${'verified'.padEnd(width)}${count} images decode`);
    }
    return 0;
  },
};

/** Decodes every image of every benchmark set (HR and LR) and training folder; returns the count. */
async function verifyImages(root: string): Promise<number> {
  const found = scanDataRoot(root);
  const folders: string[] = [];
  for (const set of found.benchmarkSets) {
    const dir = benchmarkSetDir(root, set)!;
    folders.push(path.join(dir, 'HR'));
    const lrRoot = path.join(dir, 'LR_bicubic');
    if (fs.existsSync(lrRoot)) for (const x of fs.readdirSync(lrRoot)) folders.push(path.join(lrRoot, x));
  }
  for (const name of found.trainingFolders) {
    if (name === DIV2K_NAME) {
      folders.push(...div2kHrFolders(root).map((f) => f.hrDir));
      continue;
    }
    const dir = path.join(root, name);
    folders.push(fs.existsSync(path.join(dir, 'HR')) ? path.join(dir, 'HR') : dir);
  }
  let count = 0;
  for (const dir of folders) {
    for (const file of imageFiles(dir)) {
      await readImage(path.join(dir, file));
      count++;
    }
  }
  return count;
}
