/**
 * Finds a Python interpreter with PyTorch for the cross-checks against `torch.load` / `torch.save`:
 * DDTB_TORCH_PYTHON if set, else `python3` on PATH, else Debian's system interpreter (where
 * python3-torch installs; CI has it). Returns null, with the reason, when none imports torch, so the
 * caller can skip that assertion and say why.
 */
import { spawnSync } from 'child_process';

export interface TorchPython {
  readonly exe: string;
  readonly version: string;
}

let cached: TorchPython | { reason: string } | undefined;

export function findTorchPython(): TorchPython | { reason: string } {
  if (cached) return cached;
  const candidates = [process.env.DDTB_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const exe of candidates) {
    const r = spawnSync(exe, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return (cached = { exe, version: r.stdout.trim() });
  }
  return (cached = { reason: `no Python with torch among ${candidates.join(', ')} (install python3-torch or set DDTB_TORCH_PYTHON)` });
}

/** Runs `code` with the torch interpreter; returns stdout, throws with stderr on failure. */
export function runTorchPython(py: TorchPython, code: string, args: string[] = []): string {
  const r = spawnSync(py.exe, ['-c', code, ...args], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${py.exe} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
