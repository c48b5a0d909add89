/** Committed notebooks are clean: no outputs, no execution counts, our kernel, valid nbformat 4. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../helpers';

interface Cell { cell_type: string; source: string | string[]; outputs?: unknown[]; execution_count?: number | null }
interface Notebook { cells: Cell[]; metadata: { kernelspec?: { name?: string; language?: string } }; nbformat: number }

const folder = path.join(repoRoot, 'notebooks');
const notebooks = fs.readdirSync(folder).filter((f) => f.endsWith('.ipynb')).sort();

test('notebooks/ holds at least the set-up check', () => {
  assert.ok(notebooks.includes('00-setup-check.ipynb'), `found: ${notebooks.join(', ')}`);
});

for (const name of notebooks) {
  test(`${name}: committed without outputs or execution counts, on the tslab kernel`, () => {
    const nb = JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8')) as Notebook;
    assert.equal(nb.nbformat, 4);
    assert.equal(nb.metadata.kernelspec?.name, 'tslab', 'kernelspec.name');
    assert.equal(nb.metadata.kernelspec?.language, 'typescript', 'kernelspec.language');
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    assert.ok(code.length > 0, 'no code cells');
    nb.cells.forEach((cell, i) => {
      if (cell.cell_type !== 'code') return;
      assert.deepEqual(cell.outputs, [], `cell ${i + 1} has outputs`);
      assert.equal(cell.execution_count, null, `cell ${i + 1} has an execution count`);
    });
  });
}
