/**
 * The display helper's HTML in a real browser (Debian's headless Chromium, through the same
 * checker as the notebook HTML): plotly.js loads and draws with and without an AMD loader on the
 * page, and the checker fails pages whose figures cannot draw offline.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { figureHtml, plotlyBundle, plotlyLoaderHtml } from '../../lib/viz/display';
import { repoRoot } from '../helpers';

interface PlotReport { id: string; svg: boolean; drawnPaths: number; traces: number; text: string }
interface HtmlReport {
  ok: boolean; problems: string[]; pageErrors: string[]; blocked: string[]; plots: PlotReport[]; probe?: unknown;
}
interface Browser { browser: unknown; close(): Promise<void> }
interface CheckHtml {
  launchBrowser(): Promise<Browser>;
  checkHtml(file: string, options: { browser?: unknown; minPlots?: number; timeoutMs?: number; probe?: () => unknown }): Promise<HtmlReport>;
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const checker = require(path.join(repoRoot, 'scripts', 'check_html.js')) as CheckHtml;

/** require.js as Debian ships it (the offline HTML inlines the same file). */
const REQUIRE_JS = '/usr/share/javascript/requirejs/require.min.js';

let session: Browser;
let dir: string;

before(async () => {
  session = await checker.launchBrowser();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-viz-'));
});
after(async () => {
  await session?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function page(name: string, head: string, body: string): string {
  const file = path.join(dir, `${name}.html`);
  fs.writeFileSync(file, `<!DOCTYPE html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`);
  return file;
}

const figure = (n: number) => figureHtml({
  data: [{ type: 'scatter', mode: 'lines+markers', x: [0, 1, 2], y: [n, n + 2, n + 1] }, { type: 'bar', x: [0, 1, 2], y: [1, 2, 3] }],
  layout: { title: { text: `figure ${n}` }, height: 300 },
});

/** What the page's globals look like after loading (runs in the page, where globalThis is window). */
const probe = () => {
  const page = globalThis as unknown as { Plotly?: unknown; define?: { amd?: unknown } };
  return { plotly: typeof page.Plotly, define: typeof page.define, amd: Boolean(page.define?.amd) };
};

// A bundle that fails loudly when it sees an AMD define (as UMD bundles that register with AMD
// would misbehave under require.js): the loader must hide it.
const guardedBundle = () => 'if (typeof define === "function" && define.amd) { throw new Error("AMD define visible to the plotly bundle"); }\n'
  + plotlyBundle();

test('plotly draws under require.js (AMD define present) and define is restored', async () => {
  const requireJs = fs.readFileSync(REQUIRE_JS, 'utf8');
  const file = page('amd', `<script>${requireJs}</script>`, plotlyLoaderHtml(guardedBundle()) + figure(1) + figure(2));
  const r = await checker.checkHtml(file, { browser: session.browser, minPlots: 2, probe });
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.pageErrors, []);
  assert.equal(r.plots.length, 2);
  for (const p of r.plots) {
    assert.ok(p.svg && p.drawnPaths > 0, `plot ${p.id}: svg ${p.svg}, ${p.drawnPaths} paths`);
    assert.equal(p.traces, 2);
  }
  assert.deepEqual(r.probe, { plotly: 'object', define: 'function', amd: true });
});

test('plotly draws without an AMD loader and leaves no define behind', async () => {
  const file = page('global', '', plotlyLoaderHtml(guardedBundle()) + figure(3));
  const r = await checker.checkHtml(file, { browser: session.browser, minPlots: 1, probe });
  assert.deepEqual(r.problems, []);
  assert.equal(r.plots.length, 1);
  assert.deepEqual(r.probe, { plotly: 'object', define: 'undefined', amd: false });
});

test('the checker fails a figure whose plotly.js is missing', async () => {
  const file = page('missing', '', figure(4));
  const r = await checker.checkHtml(file, { browser: session.browser, timeoutMs: 3000 });
  assert.equal(r.ok, false);
  assert.equal(r.plots.length, 1);
  assert.equal(r.plots[0].svg, false);
  assert.match(r.problems.join('\n'), /no drawn SVG \(says: plotly.js is not loaded on this page/);
});

test('the checker blocks network requests, reports them, and fails the figure that needed one', async () => {
  const url = 'https://cdn.invalid/plotly.min.js';
  const file = page('network', `<script src="${url}"></script>`, figure(5));
  const r = await checker.checkHtml(file, { browser: session.browser, timeoutMs: 3000 });
  assert.equal(r.ok, false);
  assert.deepEqual(r.blocked, [url]);
  assert.match(r.problems.join('\n'), /no drawn SVG.*blocked requests: 1/);
});

test('the checker reports page exceptions', async () => {
  const file = page('throws', '<script>throw new Error("broken page script")</script>', plotlyLoaderHtml() + figure(6));
  const r = await checker.checkHtml(file, { browser: session.browser });
  assert.equal(r.ok, false);
  assert.equal(r.plots[0].svg, true);
  assert.match(r.problems.join('\n'), /1 page exception\(s\): .*broken page script/);
});
