/** lib/viz/provenance: the last cell's summary of config, commit, version and data checksums. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { filesUnder, printProvenance, PROVENANCE_MARKER, provenanceSummary } from '../../lib/viz/provenance';
import { repoRoot } from '../helpers';

test('provenanceSummary: folders hash their files in path order, names and contents both count', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-prov-'));
  try {
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'b.png'), 'B');
    fs.writeFileSync(path.join(dir, 'sub', 'a.png'), 'A');
    assert.deepEqual(filesUnder(dir), [path.join(dir, 'b.png'), path.join(dir, 'sub', 'a.png')]);
    const expected = crypto.createHash('sha256').update('b.png').update('B').update('a.png').update('A').digest('hex');
    const s = provenanceSummary({ notebook: 'nb', config: { ratio: 0.3 }, data: { set: [dir] }, budget: 'smoke' });
    assert.deepEqual(s.data, { set: { files: 2, sha256: expected } });
    assert.equal(s.version, JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
    assert.match(s.commit, /^([0-9a-f]{40}(\+dirty)?|unknown)$/);
    assert.equal(s.budget, 'smoke');
    assert.throws(() => provenanceSummary({ notebook: 'nb', config: {}, data: { gone: [path.join(dir, 'missing')] } }), /provenance: .*missing not found/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('printProvenance: readable block plus one DDTB_PROVENANCE JSON line', () => {
  const lines: string[] = [];
  const s = printProvenance({ notebook: 'nb', config: { steps: 3 }, budget: 'quick' }, (l) => lines.push(l));
  assert.match(lines[0], /^notebook nb, budget quick\nddtb-lab \d+\.\d+\.\d+, commit /);
  assert.match(lines[0], /config:\n {2}\{\n {4}"steps": 3\n {2}\}/);
  assert.ok(lines[1].startsWith(`${PROVENANCE_MARKER} `));
  assert.deepEqual(JSON.parse(lines[1].slice(PROVENANCE_MARKER.length + 1)), s);
});
