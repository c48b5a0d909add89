/** Runs the `ddtb` CLI as a child process (as a user would) and collects its output. */
import { spawn } from 'child_process';
import * as path from 'path';
import { repoRoot } from '../helpers';

export interface CliRun { code: number | null; stdout: string; stderr: string }

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15 * 60 * 1000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(repoRoot, 'bin', 'ddtb'), args, {
      cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ddtb ${args.join(' ')}: timed out`)); }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
