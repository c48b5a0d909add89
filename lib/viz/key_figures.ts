/**
 * Key figures: the few figures the README shows, kept as small, re-buildable data.
 *
 * A notebook describes each key figure as a recipe, the name of a builder in `figures.ts` and its
 * arguments (plain JSON: the numbers, not the drawing), and saves them with `saveKeyFigures` to
 * `out/figures/<budget>/<notebook>.json`. `npm run figures -- --update` collects the quick-budget
 * files into the committed `docs/figures/results.json`; `npm run figures` turns that file into PNGs
 * (scripts/figures.ts, headless Chromium). `buildFigure` rebuilds a recipe's plotly figure; an
 * argument that is itself a recipe (`{ builder, args }`) is built first, so a grid of panels is a
 * `gridFigure` recipe whose first argument lists panel recipes.
 */
import * as path from 'path';
import { UserError } from '../errors';
import { writeBytesAtomic } from '../io/atomic_write';
import { gitCommit } from '../io/run_record';
import { outDir } from '../paths';
import { PlotlyFigure } from './display';
import { Budget, budget as currentBudget } from './budget';
import { barFigure, boxFigure, gridFigure, heatmapFigure, histogramFigure, lineFigure, scatterFigure } from './figures';

/** The builders a recipe may name. */
export const FIGURE_BUILDERS = {
  histogramFigure, barFigure, lineFigure, scatterFigure, boxFigure, heatmapFigure, gridFigure,
} as const;
export type FigureBuilderName = keyof typeof FIGURE_BUILDERS;

/** A figure as data: `FIGURE_BUILDERS[builder](...args)`. */
export interface FigureRecipe {
  readonly builder: FigureBuilderName;
  readonly args: readonly unknown[];
}

/** One README figure. `id` names its PNG (`docs/figures/<id>.png`): lower case, digits, dashes. */
export interface KeyFigure extends FigureRecipe {
  readonly id: string;
  readonly caption: string;
  /** Screenshot width in CSS pixels (default 900); the height comes from the figure's layout. */
  readonly width?: number;
}

/** What a notebook saves: its key figures and where they came from. */
export interface KeyFigureFile {
  readonly notebook: string;
  readonly budget: Budget;
  readonly commit: string;
  readonly created: string;
  readonly figures: readonly KeyFigure[];
}

function isRecipe(v: unknown): v is FigureRecipe {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as FigureRecipe).builder === 'string'
    && Array.isArray((v as FigureRecipe).args);
}

function resolveArg(v: unknown): unknown {
  if (isRecipe(v)) return buildFigure(v);
  if (Array.isArray(v)) return v.map(resolveArg);
  return v;
}

/** The plotly figure of a recipe (nested recipes in the arguments are built first). */
export function buildFigure(recipe: FigureRecipe): PlotlyFigure {
  if (!isRecipe(recipe)) throw new UserError('buildFigure: a recipe needs a builder name and an args array');
  if (!Object.prototype.hasOwnProperty.call(FIGURE_BUILDERS, recipe.builder)) {
    throw new UserError(`buildFigure: unknown builder '${recipe.builder}' (known: ${Object.keys(FIGURE_BUILDERS).join(', ')})`);
  }
  const fn = FIGURE_BUILDERS[recipe.builder] as (...args: unknown[]) => PlotlyFigure;
  return fn(...recipe.args.map(resolveArg));
}

const ID_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Checks ids and that every recipe builds; throws a UserError naming the figure. */
export function checkKeyFigures(figures: readonly KeyFigure[], source: string): void {
  const ids = new Set<string>();
  for (const f of figures) {
    if (typeof f.id !== 'string' || !ID_PATTERN.test(f.id)) throw new UserError(`${source}: key figure id '${f.id}' must be lower-case words joined by dashes`);
    if (ids.has(f.id)) throw new UserError(`${source}: key figure '${f.id}' appears twice`);
    ids.add(f.id);
    if (typeof f.caption !== 'string' || f.caption === '') throw new UserError(`${source}: key figure '${f.id}' has no caption`);
    try {
      buildFigure(f);
    } catch (e) {
      throw new UserError(`${source}: key figure '${f.id}': ${(e as Error).message}`);
    }
  }
}

/** Default folder of saved key figures: out/figures/<budget>/. */
export function keyFiguresDir(which: Budget = currentBudget()): string {
  return path.join(outDir, 'figures', which);
}

/**
 * Saves a notebook's key figures to `<dir>/<notebook>.json` (atomically; default dir
 * out/figures/<budget>/) and returns the file. Each recipe is built once first, so a broken one
 * fails here, in the notebook, not later in `npm run figures`.
 */
export async function saveKeyFigures(notebook: string, figures: readonly KeyFigure[], dir?: string): Promise<string> {
  checkKeyFigures(figures, notebook);
  const content: KeyFigureFile = { notebook, budget: currentBudget(), commit: gitCommit(), created: new Date().toISOString(), figures };
  const file = path.join(dir ?? keyFiguresDir(content.budget), `${notebook}.json`);
  await writeBytesAtomic(file, Buffer.from(JSON.stringify(content) + '\n'));
  return file;
}
