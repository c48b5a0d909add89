/**
 * Notebook budgets: one code path, sizes that depend on how much time the reader has.
 *
 * `DDTB_BUDGET` selects the budget (default `quick`):
 * - `smoke`: CI, a notebook in at most about 2 minutes, tiny images and a few steps;
 * - `quick`: the default, a notebook in at most about 10 minutes on a 2-core machine;
 * - `paper`: the sizes of the paper's analysis, for users with time.
 *
 * A notebook reads the budget once and sizes every loop with `pick`:
 *   const images = pick({ smoke: 2, quick: 14, paper: 100 });
 */
import { UserError } from '../errors';

export type Budget = 'smoke' | 'quick' | 'paper';

/** The budgets in increasing order of work. */
export const BUDGETS: readonly Budget[] = ['smoke', 'quick', 'paper'];

/** The budget used when `DDTB_BUDGET` is unset or empty. */
export const DEFAULT_BUDGET: Budget = 'quick';

/** The environment variable that selects the budget. */
export const BUDGET_ENV = 'DDTB_BUDGET';

/** Parses a budget name; throws a UserError naming the variable for anything else. */
export function parseBudget(value: string | undefined, source: string = BUDGET_ENV): Budget {
  if (value === undefined || value === '') return DEFAULT_BUDGET;
  if ((BUDGETS as readonly string[]).includes(value)) return value as Budget;
  throw new UserError(`${source}=${value}: expected one of ${BUDGETS.join(', ')}`);
}

/** The budget selected by `DDTB_BUDGET` in `env` (default: this process's environment). */
export function budget(env: NodeJS.ProcessEnv = process.env): Budget {
  return parseBudget(env[BUDGET_ENV]);
}

/** One value per budget; every budget must be given, so a notebook cannot forget one. */
export interface PerBudget<T> {
  readonly smoke: T;
  readonly quick: T;
  readonly paper: T;
}

/**
 * The value for the current budget (or for `which`). Example: `pick({ smoke: 2, quick: 8, paper: 64 })`
 * is 8 under the default budget. Throws a UserError when a budget's value is missing.
 */
export function pick<T>(values: PerBudget<T>, which: Budget = budget()): T {
  if (values === null || typeof values !== 'object' || !Object.prototype.hasOwnProperty.call(values, which)) {
    throw new UserError(`pick: no value for budget '${which}' (give smoke, quick and paper)`);
  }
  return values[which];
}
