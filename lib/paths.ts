/** Where the project lives on disk. Every module sits one folder below `lib/` (or `dist/`). */
import * as path from 'path';

/** The repository root: relative data paths and `out/` resolve against it. */
export const repoRoot = path.resolve(__dirname, '..');

/** Run output (git-ignored): caches, run folders, executed notebooks. */
export const outDir = path.join(repoRoot, 'out');
