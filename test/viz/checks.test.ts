/** lib/viz/checks: the DDTB_CHECKS line, its parsing, and failing loudly. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CHECKS_MARKER, parseChecksLines, reportChecks } from '../../lib/viz/checks';
import { UserError } from '../../lib/errors';

test('reportChecks prints one line per check and one parseable DDTB_CHECKS line', () => {
  const lines: string[] = [];
  const checks = [
    { name: 'count', pass: true, detail: '3 == floor(0.1 x 32)', values: { selected: 3, layers: 32, ratio: 0.1 } },
    { name: 'mse', pass: true, detail: '5 of 6 layers', values: { asym: [1, 2], sym: [3, 4] } },
  ];
  const report = reportChecks('03-dynamic-intensity', checks, { budget: 'smoke', log: (l) => lines.push(l) });
  assert.deepEqual(lines.slice(0, 2), ['PASS count: 3 == floor(0.1 x 32)', 'PASS mse: 5 of 6 layers']);
  assert.equal(lines.length, 3);
  assert.ok(lines[2].startsWith(`${CHECKS_MARKER} {`));
  const parsed = parseChecksLines(`noise\n${lines.join('\n')}\nmore`);
  assert.equal(parsed.length, 1);
  assert.deepEqual(parsed[0], { notebook: '03-dynamic-intensity', budget: 'smoke', checks });
  assert.deepEqual(parsed[0], report);
});

test('reportChecks throws after printing when a check fails, naming it', () => {
  const lines: string[] = [];
  assert.throws(() => reportChecks('01-activation-asymmetry', [
    { name: 'ok', pass: true, detail: 'fine' },
    { name: 'asymmetric MSE below symmetric', pass: false, detail: '2 of 6 layers' },
  ], { budget: 'quick', log: (l) => lines.push(l) }), (e: Error) => e instanceof UserError
    && e.message === '01-activation-asymmetry: 1 of 2 check(s) failed: asymmetric MSE below symmetric (2 of 6 layers)');
  assert.equal(lines[1], 'FAIL asymmetric MSE below symmetric: 2 of 6 layers');
  assert.equal(parseChecksLines(lines.join('\n'))[0].checks[1].pass, false);
});

test('reportChecks refuses empty lists, duplicate names, non-boolean verdicts and non-finite numbers', () => {
  const quiet = { log: () => undefined };
  assert.throws(() => reportChecks('nb', [], quiet), /no checks given/);
  assert.throws(() => reportChecks('nb', [{ name: 'a', pass: true, detail: '' }, { name: 'a', pass: true, detail: '' }], quiet), /'a' appears twice/);
  assert.throws(() => reportChecks('nb', [{ name: 'a', pass: 1 as unknown as boolean, detail: '' }], quiet), /non-boolean pass/);
  assert.throws(() => reportChecks('nb', [{ name: 'a', pass: true, detail: '', values: { mse: [1, NaN] } }], quiet), /non-finite number NaN/);
  assert.throws(() => parseChecksLines(`${CHECKS_MARKER} {broken`), /DDTB_CHECKS line is not JSON/);
});
