/**
 * What a notebook ran with, for its last cell: the config it used, the git commit, the library
 * version and checksums of the data and weights it read (lib/io/run_record.ts computes them, the
 * same way as for run folders and checkpoints).
 *
 *   ddtb.viz.printProvenance({ notebook: '01-activation-asymmetry', config, data: { Set5: [dir], weights: [file] } });
 *
 * prints a readable block and one machine-readable line `DDTB_PROVENANCE {json}`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../errors';
import { checksumFiles, gitCommit, libraryVersion } from '../io/run_record';
import { Budget, budget as currentBudget } from './budget';

/** The marker that starts the machine-readable provenance line. */
export const PROVENANCE_MARKER = 'DDTB_PROVENANCE';

export interface ProvenanceInput {
  /** The notebook's name, e.g. `03-dynamic-intensity`. */
  readonly notebook: string;
  /** The configuration the notebook used (any JSON-safe object). */
  readonly config: unknown;
  /**
   * Data read, by label: files or folders (folders count every file below them, sorted by path).
   * Example: `{ Set14: ['../shared/data/Set14/HR'], weights: ['../shared/weights/edsr8_x4.pt'] }`.
   */
  readonly data?: Readonly<Record<string, readonly string[]>>;
  /** Default: the current budget. */
  readonly budget?: Budget;
}

export interface ProvenanceSummary {
  readonly notebook: string;
  readonly budget: Budget;
  readonly commit: string;
  readonly version: string;
  readonly node: string;
  readonly created: string;
  readonly config: unknown;
  /** label -> { files, sha256 } (sha256 over names and contents, in path order). */
  readonly data: Readonly<Record<string, { readonly files: number; readonly sha256: string }>>;
}

/** Every regular file under `p` (itself when a file), sorted by path. Throws naming a missing path. */
export function filesUnder(p: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    throw new UserError(`provenance: ${p} not found`);
  }
  if (stat.isFile()) return [p];
  if (!stat.isDirectory()) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(p).sort()) out.push(...filesUnder(path.join(p, entry)));
  return out;
}

/** Computes the summary (hashing the data; a few hundred MB take a few seconds). */
export function provenanceSummary(input: ProvenanceInput): ProvenanceSummary {
  const data: Record<string, { files: number; sha256: string }> = {};
  for (const [label, paths] of Object.entries(input.data ?? {})) {
    const files = paths.flatMap((p) => filesUnder(p));
    if (files.length === 0) throw new UserError(`provenance: ${label}: no files under ${paths.join(', ')}`);
    data[label] = { files: files.length, sha256: checksumFiles(files) };
  }
  return {
    notebook: input.notebook,
    budget: input.budget ?? currentBudget(),
    commit: gitCommit(),
    version: libraryVersion(),
    node: process.version,
    created: new Date().toISOString(),
    config: input.config,
    data,
  };
}

/** The summary as readable lines (config as indented JSON). */
export function formatProvenance(summary: ProvenanceSummary): string {
  const lines = [
    `notebook ${summary.notebook}, budget ${summary.budget}`,
    `ddtb-lab ${summary.version}, commit ${summary.commit}, node ${summary.node}, ${summary.created}`,
    'data:',
    ...Object.entries(summary.data).map(([label, d]) => `  ${label}: ${d.files} file(s), sha256 ${d.sha256}`),
    'config:',
    ...JSON.stringify(summary.config, null, 2).split('\n').map((l) => `  ${l}`),
  ];
  if (Object.keys(summary.data).length === 0) lines.splice(2, 1);
  return lines.join('\n');
}

/** Prints the readable block and the `DDTB_PROVENANCE {json}` line; returns the summary. */
export function printProvenance(input: ProvenanceInput, log: (line: string) => void = console.log): ProvenanceSummary {
  const summary = provenanceSummary(input);
  log(formatProvenance(summary));
  log(`${PROVENANCE_MARKER} ${JSON.stringify(summary)}`);
  return summary;
}
