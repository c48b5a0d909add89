/** lib/viz/budget: DDTB_BUDGET parsing and per-budget values. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { budget, parseBudget, pick, BUDGETS } from '../../lib/viz/budget';
import { UserError } from '../../lib/errors';

test('budget: default quick, each name accepted, anything else a one-line error naming the variable', () => {
  assert.equal(budget({}), 'quick');
  assert.equal(budget({ DDTB_BUDGET: '' }), 'quick');
  for (const b of BUDGETS) assert.equal(budget({ DDTB_BUDGET: b }), b);
  assert.throws(() => budget({ DDTB_BUDGET: 'fast' }), (e: Error) => e instanceof UserError
    && e.message === 'DDTB_BUDGET=fast: expected one of smoke, quick, paper');
  assert.throws(() => parseBudget('Quick'), UserError);
});

test('pick: the value of the given or current budget', () => {
  const sizes = { smoke: 2, quick: 14, paper: 100 };
  assert.equal(pick(sizes, 'smoke'), 2);
  assert.equal(pick(sizes, 'quick'), 14);
  assert.equal(pick(sizes, 'paper'), 100);
  const saved = process.env.DDTB_BUDGET;
  try {
    process.env.DDTB_BUDGET = 'smoke';
    assert.equal(pick(sizes), 2);
    assert.deepEqual(pick({ smoke: ['a'], quick: ['a', 'b'], paper: [] }), ['a']);
  } finally {
    if (saved === undefined) delete process.env.DDTB_BUDGET; else process.env.DDTB_BUDGET = saved;
  }
  assert.throws(() => pick({ smoke: 1, quick: 2 } as unknown as { smoke: number; quick: number; paper: number }, 'paper'),
    /pick: no value for budget 'paper'/);
});
