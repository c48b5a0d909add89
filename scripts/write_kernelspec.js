#!/usr/bin/env node
/**
 * Writes this clone's tslab kernelspec into the project-local Jupyter data dir
 * (`.jupyter-local/share/jupyter/kernels/tslab/kernel.json`), which lab.sh and notebooks.sh put on
 * JUPYTER_PATH. Plain Node: it runs from setup before anything is compiled.
 *
 * We write it ourselves because `tslab install` shells out to a Python with IPython and
 * jupyter_client. The argv is the one tslab's own installer writes (`<tslab> kernel --config-path
 * {connection_file}`), with absolute paths to this Node and this clone's tslab, so the kernel runs
 * the same versions as the rest of the project. The clone can move: setup rewrites it every run.
 *
 * `env` carries the process-start variables of scripts/runtime_env.sh (the one source of truth):
 * the file is sourced in bash and every variable it sets is copied, with the values it has in the
 * environment this script runs in (so `OMP_NUM_THREADS=4 npm run setup` bakes 4 in). The one
 * exception is DDTB_NODE_FLAGS, Node's own flags: they go into argv, before the tslab script.
 *
 * Usage: node scripts/write_kernelspec.js [--data-dir DIR]   (prints the path of the file it wrote)
 *   --data-dir: the Jupyter data dir to write into (default .jupyter-local/share/jupyter; tests
 *   use a temporary one).
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const KERNEL_NAME = 'tslab';
const DISPLAY_NAME = 'TypeScript (ddtb-lab)';

/** Environment variables (name -> value) that `bash -c 'source <file>'` ends with, as a Map. */
function bashEnv(env, sourceFile) {
  const script = sourceFile ? 'source "$1" >/dev/null && env -0' : 'env -0';
  const out = execFileSync('bash', ['--noprofile', '--norc', '-c', script, 'bash', sourceFile || ''],
    { env, cwd: root, encoding: 'utf8' });
  const vars = new Map();
  for (const entry of out.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return vars;
}

/**
 * The variables runtime_env.sh sets. Names: those it adds to a nearly empty environment.
 * Values: what it yields in this process's environment (overrides from outside win, as in the file).
 */
function runtimeEnv() {
  const file = path.join(root, 'scripts', 'runtime_env.sh');
  const bare = { PATH: process.env.PATH || '/usr/bin:/bin' };
  const before = bashEnv(bare, null);
  const after = bashEnv(bare, file);
  const names = [...after.keys()].filter((k) => before.get(k) !== after.get(k)).sort();
  if (names.length === 0) throw new Error(`${file}: sets no variables (expected GLIBC_TUNABLES, OMP_NUM_THREADS)`);
  const here = bashEnv(process.env, file);
  return Object.fromEntries(names.map((k) => [k, here.get(k)]));
}

function kernelSpec() {
  const tslabBin = path.join(root, 'node_modules', 'tslab', 'bin', 'tslab');
  if (!fs.existsSync(tslabBin)) {
    throw new Error(`${path.relative(root, tslabBin)}: missing (run npm ci first)`);
  }
  const env = runtimeEnv();
  const nodeFlags = (env.DDTB_NODE_FLAGS || '').split(/\s+/).filter((f) => f !== '');
  delete env.DDTB_NODE_FLAGS;
  return {
    argv: [process.execPath, ...nodeFlags, tslabBin, 'kernel', '--config-path', '{connection_file}'],
    display_name: DISPLAY_NAME,
    language: 'typescript',
    env: env,
  };
}

function main(argv) {
  let dataDir = path.join(root, '.jupyter-local', 'share', 'jupyter');
  if (argv[0] === '--data-dir' && argv[1]) dataDir = path.resolve(argv[1]);
  else if (argv.length > 0) throw new Error('usage: write_kernelspec.js [--data-dir DIR]');
  const dir = path.join(dataDir, 'kernels', KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'kernel.json');
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(kernelSpec(), null, 2) + '\n');
  fs.renameSync(tmp, file);
  process.stdout.write(`${file.startsWith(root + path.sep) ? path.relative(root, file) : file}\n`);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`write_kernelspec: ${e.message}\n`);
  process.exit(1);
}
