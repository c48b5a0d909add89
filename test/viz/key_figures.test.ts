/**
 * lib/viz/key_figures and scripts/figures.ts: figure recipes, the notebooks' saved key figures,
 * collecting them into a results file, and drawing PNGs in headless Chromium.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { buildFigure, checkKeyFigures, KeyFigure, KeyFigureFile, saveKeyFigures } from '../../lib/viz/key_figures';
import { histogramFigure } from '../../lib/viz/figures';
import { repoRoot } from '../helpers';

const hist = { name: 'x', edges: [0, 1, 2], counts: [3, 1] };

test('buildFigure: a recipe is its builder applied to its args; nested recipes build first', () => {
  assert.deepEqual(buildFigure({ builder: 'histogramFigure', args: [hist, { title: 't' }] }), histogramFigure(hist, { title: 't' }));
  const grid = buildFigure({ builder: 'gridFigure', args: [[{ builder: 'histogramFigure', args: [hist] }, { builder: 'lineFigure', args: [[{ name: 'a', x: [0, 1], y: [1, 2] }]] }], { columns: 2 }] });
  assert.deepEqual(grid.data.map((t) => t.xaxis), ['x', 'x2']);
  assert.throws(() => buildFigure({ builder: 'pieFigure' as 'barFigure', args: [] }), /unknown builder 'pieFigure' \(known: histogramFigure, barFigure/);
});

test('checkKeyFigures: ids, captions and buildable recipes; saveKeyFigures writes the file', async () => {
  const ok: KeyFigure = { id: 'some-figure', caption: 'c', builder: 'histogramFigure', args: [hist] };
  checkKeyFigures([ok], 'nb');
  assert.throws(() => checkKeyFigures([{ ...ok, id: 'Bad_Id' }], 'nb'), /nb: key figure id 'Bad_Id' must be lower-case words joined by dashes/);
  assert.throws(() => checkKeyFigures([ok, ok], 'nb'), /'some-figure' appears twice/);
  assert.throws(() => checkKeyFigures([{ ...ok, args: [{ name: 'x', edges: [0], counts: [1] }] }], 'nb'), /nb: key figure 'some-figure': histogramFigure: x has 1 edges for 1 counts/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-keyfig-'));
  try {
    const file = await saveKeyFigures('01-x', [ok], dir);
    assert.equal(file, path.join(dir, '01-x.json'));
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as KeyFigureFile;
    assert.equal(saved.notebook, '01-x');
    assert.deepEqual(saved.figures, [ok]);
    assert.match(saved.commit, /^([0-9a-f]{40}(\+dirty)?|unknown)$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('npm run figures: --update collects notebook files, then every figure becomes a PNG of its width', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-figs-'));
  try {
    const from = path.join(dir, 'runs');
    fs.mkdirSync(from);
    const figure: KeyFigure = { id: 'red-line', caption: 'a red line', width: 400, builder: 'lineFigure',
      args: [[{ name: 'r', x: [0, 1, 2], y: [0, 2, 1], color: '#ff0000' }], { height: 300 }] };
    const file: KeyFigureFile = { notebook: '09-test', budget: 'quick', commit: 'abc', created: '2024-01-01T00:00:00.000Z', figures: [figure] };
    fs.writeFileSync(path.join(from, '09-test.json'), JSON.stringify(file));
    const results = path.join(dir, 'results.json');
    fs.writeFileSync(results, JSON.stringify({ version: 1, figures: [
      { ...figure, id: 'kept', source: { notebook: '08-other', budget: 'quick', commit: 'x', created: 'y' } },
      { ...figure, id: 'replaced', source: { notebook: '09-test', budget: 'quick', commit: 'x', created: 'y' } },
    ] }));
    const run = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', path.join(repoRoot, 'scripts', 'figures.ts'),
      '--update', '--from', from, '--results', results, '--out', dir], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const merged = JSON.parse(fs.readFileSync(results, 'utf8')) as { figures: Array<KeyFigure & { source: { notebook: string; commit: string } }> };
    assert.deepEqual(merged.figures.map((f) => [f.id, f.source.notebook, f.source.commit]), [['kept', '08-other', 'x'], ['red-line', '09-test', 'abc']]);
    for (const id of ['kept', 'red-line']) {
      const { data, info } = await sharp(path.join(dir, `${id}.png`)).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.width, info.height], [400, 300], `${id}.png size`);
      let red = 0;
      for (let i = 0; i < data.length; i += info.channels) if (data[i] > 200 && data[i + 1] < 60 && data[i + 2] < 60) red++;
      assert.ok(red > 50, `${id}.png: only ${red} red pixels; the line was not drawn`);
    }
    const bad = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', path.join(repoRoot, 'scripts', 'figures.ts'), '--frobnicate'],
      { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^figures: unknown option --frobnicate/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the README shows every committed key figure, and each image it names exists as drawn by npm run figures', async () => {
  const results = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'figures', 'results.json'), 'utf8')) as { figures: { id: string; width: number }[] };
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const shown = [...readme.matchAll(/!\[[^\]]*\]\((docs\/figures\/[^)]+\.png)\)/g)].map((m) => m[1]);
  for (const { id, width } of results.figures) {
    const file = `docs/figures/${id}.png`;
    assert.ok(shown.includes(file), `README.md does not show ${file} (a figure of docs/figures/results.json)`);
    const meta = await sharp(path.join(repoRoot, file)).metadata();
    assert.equal(meta.width, width, `${file}: drawn at ${meta.width} px, its recipe says ${width}`);
  }
  for (const file of shown) {
    assert.ok(results.figures.some((f) => file === `docs/figures/${f.id}.png`), `README.md shows ${file}, which no figure of results.json draws`);
  }
});
