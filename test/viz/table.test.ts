/** lib/viz/table: number formatting and table HTML. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatNumber, showTable, tableHtml } from '../../lib/viz/table';

test('formatNumber: significant digits, integers in full, exponents for tiny and huge values', () => {
  assert.equal(formatNumber(3.14159, 3), '3.14');
  assert.equal(formatNumber(123456, 2), '123456');
  assert.equal(formatNumber(0.000123456, 3), '1.23e-4');
  assert.equal(formatNumber(-2.5e7 + 0.5, 3), '-2.50e+7');
  assert.equal(formatNumber(0.5, 4), '0.5');
});

test('tableHtml: columns from the rows, per-column digits, escaping, highlighted rows', () => {
  const html = tableHtml([{ layer: 'body.0.<act>', min: -1.23456, ratio: 0.5 }, { layer: 'b', min: 2, extra: true }],
    { digits: { min: 2 }, highlight: [1], caption: 'per layer' });
  assert.match(html, /<th style="text-align:center;">layer<\/th><th style="text-align:center;">min<\/th><th style="text-align:center;">ratio<\/th><th style="text-align:center;">extra<\/th>/);
  assert.match(html, /body\.0\.&lt;act&gt;/);
  assert.match(html, />-1\.2<\/td>/);
  assert.match(html, /<tr style="font-weight:bold;"><td style="text-align:left;">b<\/td>/);
  assert.match(html, /<caption[^>]*>per layer<\/caption>/);
  const seen: string[] = [];
  showTable([{ a: 1 }], {}, { html: (h) => seen.push(h), png: () => undefined });
  assert.equal(seen.length, 1);
  assert.throws(() => showTable([{ a: 1 }]), /not inside a tslab kernel/);
});
