/**
 * What a per-notebook re-check receives. Each file test/notebooks/checks/<notebook>.ts exports
 * `recheck(run: ExecutedNotebook): void`, which recomputes every verdict of the notebook's
 * `DDTB_CHECKS` report from the numbers it carries (and may look at the notebook's figures and
 * text) and throws an assertion error on any disagreement. run_notebooks.test.ts fails for a
 * notebook without such a file.
 */
import { ChecksReport, NotebookCheck } from '../../../lib/viz/checks';
import { PlotlyFigure } from '../../../lib/viz/display';
import * as assert from 'node:assert/strict';

export interface ExecutedOutput { output_type: string; name?: string; text?: string | string[]; data?: Record<string, string | string[]>; ename?: string; evalue?: string }
export interface ExecutedCell { cell_type: string; source: string | string[]; outputs?: ExecutedOutput[] }

export interface ExecutedNotebook {
  /** e.g. `03-dynamic-intensity`. */
  readonly name: string;
  /** The budget the notebook ran in. */
  readonly budget: 'smoke' | 'quick' | 'paper';
  /** The one DDTB_CHECKS report of its last cell. */
  readonly report: ChecksReport;
  /** Code cells with their outputs. */
  readonly cells: readonly ExecutedCell[];
  /** All stdout text, in order. */
  readonly stdout: string;
  /** Every plotly figure the notebook showed, parsed back from its HTML outputs, in order. */
  readonly figures: readonly PlotlyFigure[];
}

export type Recheck = (run: ExecutedNotebook) => void;

/** The check called `name` (an assertion error listing the names when it is missing). */
export function checkNamed(report: ChecksReport, name: string): NotebookCheck {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `${report.notebook}: no check named '${name}' (has: ${report.checks.map((c) => c.name).join('; ')})`);
  return found;
}

/** A numeric array carried in a check's values, asserted to be finite numbers. */
export function numbers(check: NotebookCheck, key: string): number[] {
  const v = check.values?.[key];
  assert.ok(Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)), `check '${check.name}': values.${key} is not an array of numbers`);
  return v as number[];
}

/** A number carried in a check's values. */
export function numberOf(check: NotebookCheck, key: string): number {
  const v = check.values?.[key];
  assert.ok(typeof v === 'number' && Number.isFinite(v), `check '${check.name}': values.${key} is not a number`);
  return v as number;
}
