/** Shared helpers for the test suite. */
import * as fs from 'fs';
import * as path from 'path';

export const repoRoot = path.resolve(__dirname, '..');

/**
 * The shared data root the tests read in place: DDTB_DATA (relative to the repository root),
 * default ../shared/data. Throws, rather than skipping, when it is missing: CI always has it.
 */
export function dataRootForTests(): string {
  const root = path.resolve(repoRoot, process.env.DDTB_DATA ?? '../shared/data');
  if (!fs.existsSync(path.join(root, 'Set5', 'HR'))) {
    throw new Error(`test data not found at ${root} (set DDTB_DATA to a folder with Set5/HR)`);
  }
  return root;
}

/** The shared folder beside the clone (weights, fixtures, bench). */
export function sharedPath(...parts: string[]): string {
  return path.resolve(repoRoot, '..', 'shared', ...parts);
}
