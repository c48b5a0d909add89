/**
 * notebooks/00-setup-check.ipynb, run headless exactly as `npm run notebooks` runs it (same script,
 * output redirected to a temporary folder), then its HTML opened offline in headless Chromium.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { readImage } from '../../lib/data/image';
import { plotlyVersion } from '../../lib/viz/display';
import { dataRootForTests, repoRoot } from '../helpers';

interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, string | string[]> }
interface Cell { cell_type: string; source: string | string[]; outputs?: Output[] }
interface PlotReport { id: string; svg: boolean; drawnPaths: number; traces: number }
interface HtmlReport { ok: boolean; problems: string[]; pageErrors: string[]; blocked: string[]; plots: PlotReport[] }
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { checkHtml } = require(path.join(repoRoot, 'scripts', 'check_html.js')) as {
  checkHtml(file: string, options: { minPlots?: number }): Promise<HtmlReport>;
};

const joined = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join('') : v ?? '');

let outDir: string;
let cells: Cell[];
let outputs: Output[];

before(() => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-nb-'));
  const run = spawnSync('bash', [path.join(repoRoot, 'scripts', 'notebooks.sh'), '00-setup-check'], {
    cwd: repoRoot,
    env: { ...process.env, DDTB_NOTEBOOKS_OUT: outDir, DDTB_BUDGET: 'smoke' },
    encoding: 'utf8',
    timeout: 600_000,
  });
  assert.equal(run.status, 0, `npm run notebooks failed (status ${run.status}):\n${run.stdout}\n${run.stderr}`);
  const nb = JSON.parse(fs.readFileSync(path.join(outDir, '00-setup-check.ipynb'), 'utf8')) as { cells: Cell[] };
  cells = nb.cells.filter((c) => c.cell_type === 'code');
  outputs = cells.flatMap((c) => c.outputs ?? []);
});
after(() => {
  if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
});

test('every cell ran without an error or stderr output', () => {
  for (const [i, cell] of cells.entries()) {
    for (const o of cell.outputs ?? []) {
      assert.notEqual(o.output_type, 'error', `code cell ${i + 1}: ${JSON.stringify(o).slice(0, 300)}`);
      assert.ok(!(o.output_type === 'stream' && o.name === 'stderr'), `code cell ${i + 1} wrote to stderr: ${joined(o.text).slice(0, 300)}`);
    }
  }
  const stdout = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stdout').map((o) => joined(o.text)).join('');
  assert.match(stdout, /dist\/ is current/);
  assert.match(stdout, /budget: smoke/);
  assert.match(stdout, /backend: (cpu|tensorflow) \(tfjs 4\.22\.0/);
  assert.match(stdout, /set-up check passed: library \d+\.\d+\.\d+, 65536 pixels counted per channel/);
});

test('the image output is Set5 butterfly, pixel for pixel', async () => {
  const pngs = outputs.filter((o) => o.data?.['image/png'] !== undefined);
  assert.equal(pngs.length, 1);
  const decoded = await sharp(Buffer.from(joined(pngs[0].data!['image/png']), 'base64')).raw().toBuffer({ resolveWithObject: true });
  const source = await readImage(path.join(dataRootForTests(), 'Set5', 'HR', 'butterfly.png'));
  assert.deepEqual([decoded.info.width, decoded.info.height, decoded.info.channels], [source.width, source.height, 3]);
  assert.ok(Buffer.from(source.data).equals(decoded.data), 'displayed pixels differ from the file');
});

test('the plotly figure carries plotly.js once and three histograms of 65536 pixels', () => {
  const htmls = outputs.filter((o) => o.data?.['text/html'] !== undefined).map((o) => joined(o.data!['text/html']));
  assert.equal(htmls.length, 1);
  const html = htmls[0];
  assert.equal(html.split('inlined once per kernel by ddtb-lab').length - 1, 1);
  assert.ok(html.includes(`plotly.js v${plotlyVersion()}`), 'plotly.js bundle missing');
  const spec = JSON.parse(/var fig = (.*);\n/.exec(html)![1]) as { data: { name: string; y: number[] }[] };
  assert.deepEqual(spec.data.map((t) => t.name), ['red', 'green', 'blue']);
  for (const trace of spec.data) assert.equal(trace.y.reduce((a, b) => a + b, 0), 65536);
});

test('the HTML works offline in headless Chromium: the figure draws, no exceptions, no requests', async () => {
  const file = path.join(outDir, '00-setup-check.html');
  const html = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /<script[^>]*\ssrc=["']?https?:/i, 'a script loads from the network');
  assert.doesNotMatch(html, /<link[^>]*\shref=["']?https?:/i, 'a stylesheet loads from the network');
  const report = await checkHtml(file, { minPlots: 1 });
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.pageErrors, []);
  assert.deepEqual(report.blocked, []);
  assert.equal(report.plots.length, 1);
  assert.equal(report.plots[0].traces, 3);
  assert.ok(report.plots[0].drawnPaths > 0);
});
