/** `ddtb fetch` (`npm run data:fetch`): download, check and extract the manifest's archives. */
import * as path from 'path';
import { Command, listOption, stringOption } from './command';
import { UserError } from '../errors';
import { repoRoot } from '../paths';
import { defaultManifestPath, loadManifest, selectEntries } from '../data/manifest';
import { fetchArchives, formatBytes, FetchOfflineError } from '../data/fetch';

export const fetchCommand: Command = {
  name: 'fetch',
  summary: 'download DIV2K and the benchmark pack into the data root (resumable, checked, extracted)',
  details: [
    'Archives go to <data root>/<file> (in progress: <file>.part, resumed on the next run) and are',
    'extracted with the system unzip/tar into the layouts of data/README.md. A hash the manifest does not',
    'know is computed and reported as not verified. Offline, it stops at once and prints each URL and the',
    'exact path to put the file at; run it again afterwards to check and extract the files.',
    'Relative paths (--data, DDTB_DATA, --manifest) resolve against the repository root.',
  ].join('\n'),
  options: {
    data: { type: 'string', value: 'DIR', help: 'data root to download into (else DDTB_DATA); created when missing' },
    only: { type: 'string', value: 'LIST', help: 'comma-separated groups (div2k, benchmark) or archive names' },
    manifest: { type: 'string', value: 'FILE', help: 'manifest to read', default: path.relative(repoRoot, defaultManifestPath) },
    'no-extract': { type: 'boolean', help: 'download and check only' },
  },
  async run(options) {
    const dataOption = stringOption(options.data) ?? process.env.DDTB_DATA;
    if (!dataOption) throw new UserError('ddtb fetch: no data root: pass --data DIR or set DDTB_DATA');
    const dataRoot = path.resolve(repoRoot, dataOption);
    const manifest = loadManifest(path.resolve(repoRoot, stringOption(options.manifest) ?? defaultManifestPath));
    const entries = selectEntries(manifest, options.only === undefined ? [] : listOption(options.only, 'only'));
    let results;
    try {
      results = await fetchArchives({ dataRoot, entries, extract: options['no-extract'] !== true });
    } catch (e) {
      // A host-name lookup that is still pending in the resolver would keep the process alive after
      // the message is printed; leave promptly with the exit status the CLI sets.
      if (e instanceof FetchOfflineError) setTimeout(() => process.exit(), 500).unref();
      throw e;
    }
    for (const r of results) {
      const hash = `sha256 ${r.sha256} ${r.verified ? 'verified' : 'NOT verified'}`;
      console.log([r.entry.name, r.action, formatBytes(r.size), hash, `extract: ${r.extracted}`].join('  '));
    }
    return 0;
  },
};
