/**
 * A notebook's closing assertions, in a form a test can read back and re-check.
 *
 * The last cell of every notebook builds a list of checks, each with the numbers it rests on, and
 * calls `reportChecks`. That prints one readable line per check, then exactly one line
 *
 *   DDTB_CHECKS {"notebook":"03-dynamic-intensity","budget":"smoke","checks":[...]}
 *
 * and throws when any check failed, so the cell (and `npm run notebooks`) fails loudly.
 * test/notebooks/run_notebooks.test.ts finds that line in the executed notebook, and a per-notebook
 * function in test/notebooks/checks/<notebook>.ts recomputes each verdict from the carried numbers.
 */
import { UserError } from '../errors';
import { Budget, budget as currentBudget } from './budget';

/** The marker that starts the machine-readable line. */
export const CHECKS_MARKER = 'DDTB_CHECKS';

/** One assertion: a short name, whether it holds, a one-line human detail, and its numbers. */
export interface NotebookCheck {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
  /** The numbers the verdict rests on (JSON-safe), so a test can recompute it. */
  readonly values?: Readonly<Record<string, unknown>>;
}

export interface ChecksReport {
  readonly notebook: string;
  readonly budget: Budget;
  readonly checks: readonly NotebookCheck[];
}

function validate(notebook: string, checks: readonly NotebookCheck[]): void {
  if (typeof notebook !== 'string' || notebook === '') throw new UserError('reportChecks: the notebook name is empty');
  if (!Array.isArray(checks) || checks.length === 0) throw new UserError(`reportChecks: ${notebook}: no checks given`);
  const names = new Set<string>();
  checks.forEach((c, i) => {
    if (!c || typeof c.name !== 'string' || c.name === '') throw new UserError(`reportChecks: ${notebook}: check ${i} has no name`);
    if (typeof c.pass !== 'boolean') throw new UserError(`reportChecks: ${notebook}: check '${c.name}' has a non-boolean pass`);
    if (typeof c.detail !== 'string') throw new UserError(`reportChecks: ${notebook}: check '${c.name}' has no detail`);
    if (names.has(c.name)) throw new UserError(`reportChecks: ${notebook}: check '${c.name}' appears twice`);
    names.add(c.name);
  });
}

/**
 * Prints the checks and the `DDTB_CHECKS {json}` line (through `log`, default console.log) and returns
 * the report; throws a UserError naming every failed check. Numbers in `values` must be finite
 * (JSON would turn NaN into null silently): a non-finite number is itself an error.
 */
export function reportChecks(notebook: string, checks: readonly NotebookCheck[], options: { budget?: Budget; log?: (line: string) => void } = {}): ChecksReport {
  validate(notebook, checks);
  const log = options.log ?? console.log;
  const report: ChecksReport = { notebook, budget: options.budget ?? currentBudget(), checks };
  const json = JSON.stringify(report, (key, value) => {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new UserError(`reportChecks: ${notebook}: non-finite number ${value} at '${key}'`);
    return value;
  });
  for (const c of checks) log(`${c.pass ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`);
  log(`${CHECKS_MARKER} ${json}`);
  const failed = checks.filter((c) => !c.pass);
  if (failed.length > 0) {
    throw new UserError(`${notebook}: ${failed.length} of ${checks.length} check(s) failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`);
  }
  return report;
}

/**
 * Finds the `DDTB_CHECKS` lines in `text` (a notebook's stdout) and parses them. Returns every report
 * found, in order (a notebook that is correct has exactly one). Throws on a line that is not JSON.
 */
export function parseChecksLines(text: string): ChecksReport[] {
  const out: ChecksReport[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${CHECKS_MARKER} `)) continue;
    try {
      out.push(JSON.parse(line.slice(CHECKS_MARKER.length + 1)) as ChecksReport);
    } catch (e) {
      throw new UserError(`${CHECKS_MARKER} line is not JSON: ${(e as Error).message}: ${line.slice(0, 120)}`);
    }
  }
  return out;
}
