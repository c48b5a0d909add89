/**
 * The set-up's plain-Node helpers: the kernelspec writer and the "is node_modules/ current" check
 * that lets a second `npm run setup` skip `npm ci`; and the Node flags of runtime_env.sh.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../helpers';
import { runCli } from '../cli/run_cli';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { staleReason } = require(path.join(repoRoot, 'scripts', 'npm_current.js')) as { staleReason(dir: string): string };

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

test('write_kernelspec: tslab argv with absolute paths and the Node flags, env from runtime_env.sh', () => {
  const dir = tempDir('ddtb-kernelspec-');
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '3' };
    delete env.GLIBC_TUNABLES;
    delete env.DDTB_NODE_FLAGS;
    const printed = execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'write_kernelspec.js'), '--data-dir', dir],
      { env, encoding: 'utf8' }).trim();
    const file = path.join(dir, 'kernels', 'tslab', 'kernel.json');
    assert.equal(printed, file);
    const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.deepEqual(spec.argv, [process.execPath, '--single-threaded-gc', path.join(repoRoot, 'node_modules', 'tslab', 'bin', 'tslab'),
      'kernel', '--config-path', '{connection_file}']);
    assert.ok(fs.existsSync(spec.argv[2]));
    assert.equal(spec.display_name, 'TypeScript (ddtb-lab)');
    assert.equal(spec.language, 'typescript');
    // The values bash gets from sourcing runtime_env.sh in the same environment.
    const sourced = execFileSync('bash', ['-c', 'source scripts/runtime_env.sh; printf "%s\\n%s" "$GLIBC_TUNABLES" "$TF_CPP_MIN_LOG_LEVEL"'],
      { cwd: repoRoot, env, encoding: 'utf8' }).split('\n');
    assert.deepEqual(spec.env, { GLIBC_TUNABLES: sourced[0], OMP_NUM_THREADS: '3', TF_CPP_MIN_LOG_LEVEL: sourced[1] });
    assert.match(spec.env.GLIBC_TUNABLES, /^glibc\.malloc\./);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A project folder with a lockfile and npm's install record, as `npm ci` leaves them. */
function fakeProject(): { dir: string; lock: Record<string, unknown>; write(hidden: Record<string, unknown>): void } {
  const dir = tempDir('ddtb-npm-');
  const pkg = { name: 'p', version: '1.0.0', dependencies: { a: '1.0.0' }, optionalDependencies: { opt: '2.0.0' } };
  const packages: Record<string, Record<string, unknown>> = {
    '': { name: 'p', version: '1.0.0', dependencies: { a: '1.0.0' }, optionalDependencies: { opt: '2.0.0' } },
    'node_modules/a': { version: '1.0.0', integrity: 'sha512-aaa' },
    'node_modules/opt': { version: '2.0.0', integrity: 'sha512-ooo', optional: true },
  };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages }));
  fs.mkdirSync(path.join(dir, 'node_modules', 'a'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', 'a', 'package.json'), '{}');
  return {
    dir,
    lock: packages,
    write(hidden) {
      fs.writeFileSync(path.join(dir, 'node_modules', '.package-lock.json'), JSON.stringify({ lockfileVersion: 3, packages: hidden }));
    },
  };
}

test('npm_current: current when installed as locked, optional packages may be absent', () => {
  const p = fakeProject();
  try {
    assert.equal(staleReason(p.dir), 'node_modules/ not installed');
    p.write({ 'node_modules/a': { version: '1.0.0', integrity: 'sha512-aaa' } });
    assert.equal(staleReason(p.dir), '');
  } finally {
    fs.rmSync(p.dir, { recursive: true, force: true });
  }
});

test('npm_current: stale on a version, integrity, missing, extraneous or package.json change', () => {
  const p = fakeProject();
  try {
    p.write({ 'node_modules/a': { version: '1.0.1', integrity: 'sha512-aaa' } });
    assert.equal(staleReason(p.dir), 'node_modules/a is 1.0.1, locked 1.0.0');
    p.write({ 'node_modules/a': { version: '1.0.0', integrity: 'sha512-bbb' } });
    assert.equal(staleReason(p.dir), 'node_modules/a integrity differs from the lockfile');
    p.write({ 'node_modules/a': { version: '1.0.0', integrity: 'sha512-aaa' }, 'node_modules/x': { version: '0.1.0' } });
    assert.equal(staleReason(p.dir), 'node_modules/x is installed but not in the lockfile');
    p.write({});
    assert.equal(staleReason(p.dir), 'node_modules/a not installed');
    p.write({ 'node_modules/a': { version: '1.0.0', integrity: 'sha512-aaa' } });
    fs.rmSync(path.join(p.dir, 'node_modules', 'a'), { recursive: true });
    assert.equal(staleReason(p.dir), 'node_modules/a missing on disk');
    fs.mkdirSync(path.join(p.dir, 'node_modules', 'a'));
    fs.writeFileSync(path.join(p.dir, 'node_modules', 'a', 'package.json'), '{}');
    assert.equal(staleReason(p.dir), '');
    fs.writeFileSync(path.join(p.dir, 'package.json'), JSON.stringify({ dependencies: { a: '1.0.0', b: '3.0.0' }, optionalDependencies: { opt: '2.0.0' } }));
    assert.equal(staleReason(p.dir), "package.json dependencies differ from the lockfile's");
  } finally {
    fs.rmSync(p.dir, { recursive: true, force: true });
  }
});

test('npm_current: this clone is current right after setup', () => {
  assert.equal(staleReason(repoRoot), '');
});

test('runtime_env.sh: the Node flags reach bin/ddtb and the test runner\'s processes; an empty value turns them off', async () => {
  const flags = (process.env.DDTB_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
  // scripts/test.sh sources runtime_env.sh and starts the runner with the flags; each file's process inherits them.
  for (const f of flags) assert.ok(process.execArgv.includes(f), `test process lacks ${f}: ${process.execArgv.join(' ')}`);
  const withFlags = await runCli(['doctor'], { DDTB_NODE_FLAGS: '--single-threaded-gc' });
  assert.equal(withFlags.code, 0, withFlags.stderr);
  assert.match(withFlags.stdout, /^node flags\s+--single-threaded-gc$/m);
  const without = await runCli(['doctor'], { DDTB_NODE_FLAGS: '' });
  assert.equal(without.code, 0, without.stderr);
  assert.match(without.stdout, /^node flags\s+none$/m);
});
