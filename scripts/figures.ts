/**
 * npm run figures: the README's key figures as PNG files, drawn by plotly in headless Debian Chromium
 * (scripts/check_html.js launches it; nothing is downloaded) from the committed results file.
 *
 *   npm run figures                      docs/figures/results.json -> docs/figures/<id>.png
 *   npm run figures -- --update          first collect out/figures/quick/*.json (written by the
 *                                        notebooks, lib/viz/key_figures.ts) into results.json
 * Options: --budget B (with --update: which run's figures to collect, default quick), --from DIR
 * (instead of out/figures/<budget>), --results FILE, --out DIR.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { buildFigure, checkKeyFigures, KeyFigure, KeyFigureFile } from '../lib/viz/key_figures';
import { figureHtml, plotlyLoaderHtml } from '../lib/viz/display';
import { parseBudget } from '../lib/viz/budget';
import { writeBytesAtomic } from '../lib/io/atomic_write';
import { UserError } from '../lib/errors';
import { outDir, repoRoot } from '../lib/paths';

interface Browser { newPage(): Promise<Page> }
interface Page {
  setViewport(v: { width: number; height: number; deviceScaleFactor?: number }): Promise<void>;
  goto(url: string, o: { waitUntil: string; timeout: number }): Promise<unknown>;
  waitForFunction(fn: string, o: { timeout: number; polling: number }): Promise<unknown>;
  $(selector: string): Promise<{ screenshot(o: { type: 'png' }): Promise<Uint8Array> } | null>;
  on(event: 'pageerror', fn: (e: Error) => void): void;
  close(): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { launchBrowser } = require('./check_html.js') as { launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> };

/** One figure of the results file, with the run it came from. */
export interface ResultFigure extends KeyFigure {
  readonly source: { readonly notebook: string; readonly budget: string; readonly commit: string; readonly created: string };
}
export interface ResultsFile { readonly version: 1; readonly figures: readonly ResultFigure[] }

const DEFAULT_WIDTH = 900;

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new UserError(`figures: ${path.relative(repoRoot, file) || file}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Merges every notebook file of `from` into `results` (a notebook's figures replace its old ones). */
export function collect(from: string, results: string): ResultsFile {
  if (!fs.existsSync(from)) throw new UserError(`figures --update: ${from} not found: run the notebooks first (npm run notebooks)`);
  const files = fs.readdirSync(from).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new UserError(`figures --update: no notebook figures in ${from}`);
  const old: ResultsFile = fs.existsSync(results) ? readJson<ResultsFile>(results) : { version: 1, figures: [] };
  const fresh: ResultFigure[] = [];
  for (const f of files) {
    const saved = readJson<KeyFigureFile>(path.join(from, f));
    checkKeyFigures(saved.figures, path.join(from, f));
    const source = { notebook: saved.notebook, budget: saved.budget, commit: saved.commit, created: saved.created };
    fresh.push(...saved.figures.map((fig) => ({ ...fig, source })));
  }
  const replaced = new Set(fresh.map((f) => f.source.notebook));
  const kept = old.figures.filter((f) => !replaced.has(f.source.notebook));
  const figures = [...kept, ...fresh].sort((a, b) => a.source.notebook.localeCompare(b.source.notebook));
  checkKeyFigures(figures, results);
  return { version: 1, figures };
}

/** Draws every figure of `results` in one page and writes `<out>/<id>.png` for each. Returns the files. */
export async function render(results: ResultsFile, out: string): Promise<string[]> {
  checkKeyFigures(results.figures, 'results');
  const body = results.figures.map((f) => {
    const fig = buildFigure(f);
    const spec = { ...fig, config: { ...(fig.config ?? {}), displayModeBar: false, staticPlot: true, responsive: false } };
    return `<div class="key" style="width:${f.width ?? DEFAULT_WIDTH}px;background:#fff;">${figureHtml(spec, { id: `key-${f.id}` })}</div>`;
  }).join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-figures-'));
  const page = path.join(dir, 'figures.html');
  fs.writeFileSync(page, `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0;background:#fff;">\n${plotlyLoaderHtml()}\n${body}\n</body></html>`);
  const session = await launchBrowser();
  const written: string[] = [];
  try {
    const tab = await session.browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e.message).split('\n')[0]));
    await tab.setViewport({ width: Math.max(...results.figures.map((f) => f.width ?? DEFAULT_WIDTH)) + 20, height: 800, deviceScaleFactor: 1 });
    await tab.goto(pathToFileURL(page).href, { waitUntil: 'load', timeout: 60000 });
    await tab.waitForFunction(`Array.from(document.querySelectorAll('.ddtb-plot')).every((el) => el.querySelector('svg.main-svg path'))`, { timeout: 60000, polling: 200 });
    if (errors.length) throw new UserError(`figures: the page raised ${errors.length} exception(s): ${errors[0]}`);
    for (const f of results.figures) {
      const el = await tab.$(`#key-${f.id}`);
      if (!el) throw new UserError(`figures: ${f.id} was not drawn`);
      const png = await el.screenshot({ type: 'png' });
      const file = path.join(out, `${f.id}.png`);
      await writeBytesAtomic(file, png);
      written.push(file);
    }
    await tab.close();
  } finally {
    await session.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return written;
}

async function main(argv: string[]): Promise<void> {
  let update = false;
  let budget = 'quick';
  let from: string | null = null;
  let results = path.join(repoRoot, 'docs', 'figures', 'results.json');
  let out = path.join(repoRoot, 'docs', 'figures');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { const v = argv[++i]; if (v === undefined) throw new UserError(`figures: ${a} needs a value`); return v; };
    if (a === '--update') update = true;
    else if (a === '--budget') budget = parseBudget(value(), '--budget');
    else if (a === '--from') from = path.resolve(value());
    else if (a === '--results') results = path.resolve(value());
    else if (a === '--out') out = path.resolve(value());
    else throw new UserError(`figures: unknown option ${a} (options: --update, --budget B, --from DIR, --results FILE, --out DIR)`);
  }
  if (update) {
    const merged = collect(from ?? path.join(outDir, 'figures', budget), results);
    await writeBytesAtomic(results, Buffer.from(JSON.stringify(merged, null, 1) + '\n'));
    console.log(`${path.relative(repoRoot, results)}: ${merged.figures.length} figure(s)`);
  }
  if (!fs.existsSync(results)) throw new UserError(`figures: ${path.relative(repoRoot, results)} not found (npm run figures -- --update collects it from the notebooks' runs)`);
  for (const file of await render(readJson<ResultsFile>(results), out)) console.log(`wrote ${path.relative(repoRoot, file)}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(e instanceof UserError ? e.message : e.stack);
    process.exitCode = 1;
  });
}
