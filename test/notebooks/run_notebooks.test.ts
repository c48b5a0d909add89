/**
 * Every notebook except 00 (which has its own test) run headless exactly as `npm run notebooks` runs
 * it (scripts/notebooks.sh, output redirected to a temporary folder), in the budget from DDTB_BUDGET
 * (default smoke here; CI sets smoke). Then, for each executed notebook:
 * - no cell errored;
 * - it showed at least one plotly figure (our plot container class);
 * - its last cell printed exactly one DDTB_CHECKS line, every check passed, and the notebook's own
 *   re-check (test/notebooks/checks/<name>.ts, required) agrees with the numbers the line carries;
 * - its HTML opens offline in headless Chromium with no page exceptions and an SVG drawn in every
 *   plot container; blocked network requests are reported by a test of their own.
 * With DDTB_NOTEBOOKS_CHECK=DIR nothing runs: the same checks read the notebooks already executed
 * into DIR (e.g. out/notebooks after `DDTB_BUDGET=quick npm run notebooks`; set DDTB_BUDGET to the
 * budget they ran in).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PLOT_CONTAINER_CLASS, PlotlyFigure } from '../../lib/viz/display';
import { ChecksReport, parseChecksLines } from '../../lib/viz/checks';
import { parseBudget } from '../../lib/viz/budget';
import { repoRoot } from '../helpers';
import { ExecutedCell, ExecutedNotebook, ExecutedOutput, Recheck } from './checks/types';

interface PlotReport { id: string; svg: boolean; drawnPaths: number; traces: number }
interface HtmlReport { ok: boolean; problems: string[]; pageErrors: string[]; blocked: string[]; plots: PlotReport[] }
interface Session { browser: unknown; close(): Promise<void> }
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { checkHtml, launchBrowser } = require(path.join(repoRoot, 'scripts', 'check_html.js')) as {
  checkHtml(file: string, options: { minPlots?: number; browser?: unknown }): Promise<HtmlReport>;
  launchBrowser(): Promise<Session>;
};

const budget = parseBudget(process.env.DDTB_BUDGET || 'smoke', 'DDTB_BUDGET');
/** Generous ceilings per notebook (the limits are 2 and 10 minutes), so a hung kernel cannot stall the suite. */
const PER_NOTEBOOK_S = { smoke: 240, quick: 900, paper: 86_400 }[budget];
const SELF_TESTED = new Set(['00-setup-check']);
const names = fs.readdirSync(path.join(repoRoot, 'notebooks')).filter((f) => f.endsWith('.ipynb'))
  .map((f) => f.replace(/\.ipynb$/, '')).filter((n) => !SELF_TESTED.has(n)).sort();

const joined = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join('') : v ?? '');

/** Plotly specs of figures in an HTML output (display.ts writes `var fig = {...};` on one line). */
function figuresIn(html: string): PlotlyFigure[] {
  return [...html.matchAll(/var fig = (.*);\n/g)].map((m) => JSON.parse(m[1]) as PlotlyFigure);
}

let outDir = '';
let runLog = '';
let session: Session | null = null;
/** Blocked requests per notebook, from the browser check. */
const blockedBy = new Map<string, string[]>();

/** A folder of notebooks executed earlier, checked instead of running them (relative to the repository root). */
const checkOnly = process.env.DDTB_NOTEBOOKS_CHECK ? path.resolve(repoRoot, process.env.DDTB_NOTEBOOKS_CHECK) : null;

before(() => {
  if (names.length === 0) return;
  if (checkOnly) {
    outDir = checkOnly;
    runLog = names.map((n) => `${n}: checked as executed in ${path.relative(repoRoot, checkOnly)} (see ${n}.log there)`).join('\n');
    return;
  }
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-nbs-'));
  const run = spawnSync('bash', [path.join(repoRoot, 'scripts', 'notebooks.sh'), ...names], {
    cwd: repoRoot,
    env: { ...process.env, DDTB_NOTEBOOKS_OUT: outDir, DDTB_BUDGET: budget },
    encoding: 'utf8',
    timeout: (120 + PER_NOTEBOOK_S * names.length) * 1000,
  });
  runLog = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
  if (run.error) runLog += `\nnotebooks.sh did not finish: ${run.error.message}`;
  // Each notebook's wall time in this budget, for the log (not asserted here: times are not tests).
  const timings = runLog.split('\n').filter((l) => / (ok in|FAILED after) \d+ s/.test(l));
  if (timings.length) console.log(`notebooks (${budget}):\n${timings.map((l) => `  ${l.split(' -> ')[0]}`).join('\n')}`);
});

after(async () => {
  if (session) await session.close();
  if (outDir && !checkOnly) fs.rmSync(outDir, { recursive: true, force: true });
});

/** What notebooks.sh said about `name` (its ok line, or its failure block). */
function logFor(name: string): string {
  const lines = runLog.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${name}: `));
  if (start < 0) return runLog.split('\n').slice(-15).join('\n');
  let end = start + 1;
  while (end < lines.length && lines[end].startsWith('  ')) end++;
  return lines.slice(start, end).join('\n');
}

function loadExecuted(name: string): { cells: ExecutedCell[]; outputs: ExecutedOutput[] } {
  const file = path.join(outDir, `${name}.ipynb`);
  assert.ok(fs.existsSync(file), `${name} did not run to the end in budget ${budget}:\n${logFor(name)}`);
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: ExecutedCell[] };
  const cells = nb.cells.filter((c) => c.cell_type === 'code');
  return { cells, outputs: cells.flatMap((c) => c.outputs ?? []) };
}

for (const name of names) {
  describe(`${name} (budget ${budget})`, () => {
    test('ran without an errored cell', (t) => {
      const { cells } = loadExecuted(name);
      for (const [i, cell] of cells.entries()) {
        for (const o of cell.outputs ?? []) {
          assert.notEqual(o.output_type, 'error', `code cell ${i + 1}: ${o.ename}: ${o.evalue}`);
        }
      }
      t.diagnostic(logFor(name));
    });

    test('showed plotly figures', () => {
      const { outputs } = loadExecuted(name);
      const html = outputs.map((o) => joined(o.data?.['text/html'])).join('\n');
      const containers = html.split(`class="${PLOT_CONTAINER_CLASS}"`).length - 1;
      assert.ok(containers >= 1, 'no plotly figure output');
      assert.equal(figuresIn(html).length, containers, 'every plot container carries its figure spec');
    });

    test('its last cell reports DDTB_CHECKS, all passing, and the numbers re-check', () => {
      const { cells, outputs } = loadExecuted(name);
      const stdoutOf = (os: readonly ExecutedOutput[]) => os.filter((o) => o.output_type === 'stream' && o.name === 'stdout').map((o) => joined(o.text)).join('');
      const stdout = stdoutOf(outputs);
      const reports = parseChecksLines(stdout);
      assert.equal(reports.length, 1, `expected one DDTB_CHECKS line, found ${reports.length}`);
      const lastCell = parseChecksLines(stdoutOf(cells[cells.length - 1].outputs ?? []));
      assert.equal(lastCell.length, 1, 'the DDTB_CHECKS line is not printed by the last code cell');
      const report: ChecksReport = reports[0];
      assert.equal(report.notebook, name);
      assert.equal(report.budget, budget);
      assert.ok(report.checks.length > 0, 'no checks');
      for (const c of report.checks) assert.ok(c.pass, `check failed: ${c.name}: ${c.detail}`);
      const checksFile = path.join(__dirname, 'checks', `${name}.ts`);
      assert.ok(fs.existsSync(checksFile), `test/notebooks/checks/${name}.ts is missing: every notebook needs a re-check of its DDTB_CHECKS numbers`);
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { recheck } = require(checksFile) as { recheck?: Recheck };
      assert.equal(typeof recheck, 'function', `test/notebooks/checks/${name}.ts must export recheck(run)`);
      const html = outputs.map((o) => joined(o.data?.['text/html'])).join('\n');
      const run: ExecutedNotebook = { name, budget, report, cells, stdout, figures: figuresIn(html) };
      recheck!(run);
    });

    test('its HTML draws every figure offline in headless Chromium, without page exceptions', async () => {
      const { outputs } = loadExecuted(name);
      const expected = outputs.map((o) => joined(o.data?.['text/html'])).join('\n').split(`class="${PLOT_CONTAINER_CLASS}"`).length - 1;
      const file = path.join(outDir, `${name}.html`);
      assert.ok(fs.existsSync(file), `${name}.html missing`);
      session ??= await launchBrowser();
      const report = await checkHtml(file, { minPlots: expected, browser: session.browser });
      assert.deepEqual(report.pageErrors, [], 'page exceptions');
      assert.deepEqual(report.problems, []);
      assert.equal(report.plots.filter((p) => p.svg && p.drawnPaths > 0).length, expected);
      // Kept on the report so the blocked-requests test does not open the page again.
      blockedBy.set(name, report.blocked);
    });

    test('its HTML asks for nothing from the network (blocked requests)', () => {
      const blocked = blockedBy.get(name);
      assert.ok(blocked !== undefined, 'the browser check did not run');
      assert.deepEqual(blocked, [], 'blocked network requests');
    });
  });
}
