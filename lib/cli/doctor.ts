/** `ddtb doctor`: what this installation runs on and what it can find. */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as tf from '@tensorflow/tfjs';
import { Command } from './command';
import { ensureBackend, describeBackend } from '../backend';
import { repoRoot } from '../paths';

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

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'report backend, threads, versions, Jupyter and the TypeScript kernel, and the data sets found',
  options: {
    data: { type: 'string', value: 'DIR', help: 'data root to inspect (else DDTB_DATA)' },
  },
  async run() {
    const info = ensureBackend();
    const rows: [string, string][] = [];
    rows.push(['backend', describeBackend(info)]);
    if (info.tfjsNodeReason) rows.push(['tfjs-node', info.tfjsNodeReason]);
    rows.push(['native kernels', info.native.loaded ? info.native.kernels.join(', ') : `none: ${info.native.reason}`]);
    rows.push(['threads', String(info.threads)]);
    rows.push(['node', process.version]);
    rows.push(['tfjs', tf.version_core]);
    for (const p of ['sharp', 'tslab', 'plotly.js-dist', 'typescript']) rows.push([p, packageVersion(p) ?? 'not installed']);
    rows.push(['jupyter', version('jupyter', ['--version']) ? (version('jupyter-nbconvert', ['--version']) ? `nbconvert ${version('jupyter-nbconvert', ['--version'])}` : 'found') : 'not found (npm run setup installs it)']);
    const kernelDir = path.join(repoRoot, '.jupyter-local', 'share', 'jupyter', 'kernels', 'tslab');
    rows.push(['tslab kernel', fs.existsSync(path.join(kernelDir, 'kernel.json')) ? path.relative(repoRoot, kernelDir) : 'not registered (npm run setup writes it)']);
    const width = Math.max(...rows.map((r) => r[0].length)) + 2;
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}${v}`);
    return 0;
  },
};
