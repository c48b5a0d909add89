#!/usr/bin/env node
/**
 * Whether `node_modules/` already holds exactly what `npm ci` would install, so setup can skip it.
 * Plain Node (runs before anything is installed).
 *
 * Current means: npm's own record of the last install (`node_modules/.package-lock.json`) names
 * every package of `package-lock.json` at its locked version and integrity, each is on disk, it
 * names nothing the lockfile lacks, and the dependencies in `package.json` are the ones the
 * lockfile was made from. Optional packages may be absent: `npm ci` leaves out optional packages
 * whose install failed (tfjs-node offline) or that are for other platforms (sharp's builds).
 *
 * Usage: node scripts/npm_current.js [DIR]   (DIR: the project folder, default the current one)
 * Prints nothing and exits 0 when current; else prints the first reason and exits 1.
 */
'use strict';
const fs = require('fs');
const path = require('path');

/** The first reason `dir`'s node_modules/ is not current, or '' when it is. */
function staleReason(dir) {
  const read = (f) => {
    try { return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')); } catch { return null; }
  };
  const pkg = read('package.json');
  const lock = read('package-lock.json');
  const have = read('node_modules/.package-lock.json');
  if (!pkg) return 'package.json unreadable';
  if (!lock || !lock.packages) return 'package-lock.json unreadable (npm ci needs lockfileVersion 2 or 3)';
  if (!have || !have.packages) return 'node_modules/ not installed';
  const root = lock.packages[''] || {};
  const sorted = (o) => JSON.stringify(Object.entries(o || {}).sort());
  for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
    if (sorted(pkg[field]) !== sorted(root[field])) return `package.json ${field} differ from the lockfile's`;
  }
  for (const [key, want] of Object.entries(lock.packages)) {
    if (key === '') continue;
    const got = have.packages[key];
    if (!got) {
      if (want.optional) continue;
      return `${key} not installed`;
    }
    if (got.version !== want.version) return `${key} is ${got.version}, locked ${want.version}`;
    if (want.integrity && got.integrity && want.integrity !== got.integrity) return `${key} integrity differs from the lockfile`;
    if (!want.link && !fs.existsSync(path.join(dir, key, 'package.json'))) return `${key} missing on disk`;
  }
  for (const key of Object.keys(have.packages)) {
    if (!(key in lock.packages)) return `${key} is installed but not in the lockfile`;
  }
  return '';
}

module.exports = { staleReason };

if (require.main === module) {
  const reason = staleReason(path.resolve(process.argv[2] || '.'));
  if (reason) process.stdout.write(`${reason}\n`);
  process.exitCode = reason ? 1 : 0;
}
