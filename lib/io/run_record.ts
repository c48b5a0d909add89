/**
 * Provenance of a run: the git commit of the code, the library version, and checksums of the data and
 * the teacher weights it read. Stored in every run folder (config.json), checkpoint and report.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { repoRoot } from '../paths';

export interface Provenance {
  readonly commit: string;
  readonly version: string;
  /** sha256 over the named files' contents, in the given order, e.g. { "T91": "ab12..." }. */
  readonly data: Readonly<Record<string, string>>;
  readonly created: string;
}

/** The repository's HEAD commit (with "+dirty" when the tree has changes), or "unknown". */
export function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** sha256 of the concatenated contents of `files` (streamed, in order). */
export function checksumFiles(files: readonly string[]): string {
  const hash = crypto.createHash('sha256');
  for (const f of files) {
    hash.update(path.basename(f));
    hash.update(fs.readFileSync(f));
  }
  return hash.digest('hex');
}

export function libraryVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version as string;
}

export function provenance(data: Readonly<Record<string, readonly string[]>>): Provenance {
  const sums: Record<string, string> = {};
  for (const [name, files] of Object.entries(data)) sums[name] = checksumFiles(files);
  return { commit: gitCommit(), version: libraryVersion(), data: sums, created: new Date().toISOString() };
}
