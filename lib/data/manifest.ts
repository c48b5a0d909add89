/**
 * The download manifest (`data/manifest.json`): which archives `ddtb fetch` downloads, from where,
 * how each is checked and where it is extracted. Loading validates every field and names the entry
 * and the field at fault; unknown fields are rejected so that a typo cannot silently drop a check.
 *
 * A hash is only recorded with the place it was read from (`hashSource`). A hash that could not be
 * read from its source is `null` with `hashSource` = NOT_VERIFIED: the fetch then reports the hash it
 * computed and says that it was not verified. Never fill in a hash from anywhere else.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../errors';
import { repoRoot } from '../paths';

/** The `hashSource` of an entry whose `sha256` is null. */
export const NOT_VERIFIED = 'not verified from its source';

/** The manifest shipped with the project. */
export const defaultManifestPath = path.join(repoRoot, 'data', 'manifest.json');

export type ArchiveFormat = 'zip' | 'tar';

export interface ManifestEntry {
  /** Unique name, e.g. `DIV2K_train_HR`; `--only` accepts it. */
  readonly name: string;
  /** Group for `--only`, e.g. `div2k` or `benchmark`. */
  readonly group: string;
  /** Where the archive is downloaded from (http: or https:). */
  readonly url: string;
  /** The archive's file name; it is stored as `<data root>/<file>`. */
  readonly file: string;
  /** Expected size in bytes, or null when not known. */
  readonly size: number | null;
  /** Expected sha256 (64 lowercase hex digits), or null when not verified from its source. */
  readonly sha256: string | null;
  /** Where `sha256` was read from; NOT_VERIFIED when it is null. */
  readonly hashSource: string;
  readonly format: ArchiveFormat;
  /** Folder (relative to the data root, `.` for the root itself) the archive is extracted into. */
  readonly extractTo: string;
  /** Paths (relative to `extractTo`) that extraction creates, e.g. `DIV2K_train_HR`. */
  readonly creates: readonly string[];
  /** What the extracted files look like, for people (e.g. `DIV2K_train_HR/0001.png ... 0800.png`). */
  readonly layout: string;
}

export interface Manifest {
  /** The file it was read from (absolute), for messages. */
  readonly source: string;
  readonly entries: readonly ManifestEntry[];
}

const entryFields = ['name', 'group', 'url', 'file', 'size', 'sha256', 'hashSource', 'format', 'extractTo', 'creates', 'layout'] as const;
const topFields = ['description', 'entries'];
const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** A relative path that stays inside its base folder (no absolute path, no `..` part). */
function isInsideRelative(p: string): boolean {
  if (p === '' || path.isAbsolute(p) || p.includes('\\')) return false;
  return p.split('/').every((part) => part !== '..');
}

/**
 * Checks parsed JSON against the manifest schema. `source` names the file in messages, which read
 * `<source>: entries[i] (<name>): field '<field>' ...`.
 */
export function parseManifest(json: unknown, source: string): Manifest {
  const fail = (where: string, msg: string): never => {
    throw new UserError(`${source}: ${where}${msg}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('', 'must be a JSON object with an "entries" array');
  const top = json as Record<string, unknown>;
  for (const key of Object.keys(top)) if (!topFields.includes(key)) fail('', `unknown top-level field '${key}' (known: ${topFields.join(', ')})`);
  if (top.description !== undefined && typeof top.description !== 'string') fail('', "field 'description' must be a string");
  if (!Array.isArray(top.entries) || top.entries.length === 0) fail('', "field 'entries' must be a non-empty array");
  const entries: ManifestEntry[] = [];
  (top.entries as unknown[]).forEach((raw, i) => {
    const label = (typeof raw === 'object' && raw !== null && typeof (raw as Record<string, unknown>).name === 'string')
      ? `entries[${i}] (${(raw as Record<string, unknown>).name}): ` : `entries[${i}]: `;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(label, 'must be an object');
    const e = raw as Record<string, unknown>;
    const bad = (field: string, want: string): never => fail(label, `field '${field}' ${want}`);
    for (const key of Object.keys(e)) {
      if (!(entryFields as readonly string[]).includes(key)) fail(label, `unknown field '${key}' (known: ${entryFields.join(', ')})`);
    }
    for (const field of entryFields) if (!(field in e)) bad(field, 'is missing');
    const str = (field: string): string => {
      const v = e[field];
      if (typeof v !== 'string' || v.trim() === '') bad(field, 'must be a non-empty string');
      return v as string;
    };
    const name = str('name');
    if (!namePattern.test(name)) bad('name', 'may hold only letters, digits, _ . - (and not start with . _ -)');
    const group = str('group');
    if (!namePattern.test(group)) bad('group', 'may hold only letters, digits, _ . - (and not start with . _ -)');
    const url = str('url');
    let parsed: URL | null = null;
    try { parsed = new URL(url); } catch { bad('url', `is not a URL: '${url}'`); }
    if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') bad('url', `must be http: or https:, got '${parsed.protocol}'`);
    const file = str('file');
    if (file !== path.basename(file) || file.includes('\\') || file.startsWith('.')) bad('file', `must be a plain file name, got '${file}'`);
    const size = e.size;
    if (size !== null && (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0)) bad('size', 'must be a positive integer (bytes) or null');
    const sha256 = e.sha256;
    if (sha256 !== null && (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))) bad('sha256', 'must be 64 lowercase hex digits or null');
    const hashSource = str('hashSource');
    if (sha256 === null && hashSource !== NOT_VERIFIED) bad('hashSource', `must be "${NOT_VERIFIED}" when sha256 is null`);
    if (sha256 !== null && hashSource === NOT_VERIFIED) bad('hashSource', 'must say where the sha256 was read from');
    const format = e.format;
    if (format !== 'zip' && format !== 'tar') bad('format', `must be "zip" or "tar", got ${JSON.stringify(format)}`);
    const extractTo = str('extractTo');
    if (extractTo !== '.' && !isInsideRelative(extractTo)) bad('extractTo', `must be a relative path inside the data root, got '${extractTo}'`);
    const creates = e.creates;
    if (!Array.isArray(creates) || creates.length === 0) bad('creates', 'must be a non-empty array of relative paths');
    (creates as unknown[]).forEach((c, j) => {
      if (typeof c !== 'string' || !isInsideRelative(c)) bad(`creates[${j}]`, `must be a relative path inside the extraction folder, got ${JSON.stringify(c)}`);
    });
    const layout = str('layout');
    entries.push(Object.freeze({
      name, group, url, file, size: size as number | null, sha256: sha256 as string | null, hashSource,
      format: format as ArchiveFormat, extractTo, creates: Object.freeze([...(creates as string[])]), layout,
    }));
  });
  for (const key of ['name', 'file'] as const) {
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      if (seen.has(e[key])) fail(`entries[${i}] (${e.name}): `, `field '${key}' repeats '${e[key]}'`);
      seen.add(e[key]);
    });
  }
  return Object.freeze({ source, entries: Object.freeze(entries) });
}

/** Reads and validates a manifest file; errors name the file (and the entry and field). */
export function loadManifest(file: string = defaultManifestPath): Manifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read the manifest (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseManifest(json, file);
}

/**
 * The entries picked by `--only`: each selector is a group (`div2k`), an entry name or an archive
 * file name, case-insensitive. An empty list picks every entry. Order follows the manifest.
 */
export function selectEntries(manifest: Manifest, only: readonly string[]): ManifestEntry[] {
  if (only.length === 0) return [...manifest.entries];
  const picked = new Set<ManifestEntry>();
  for (const sel of only) {
    const s = sel.toLowerCase();
    const hits = manifest.entries.filter((e) => e.group.toLowerCase() === s || e.name.toLowerCase() === s || e.file.toLowerCase() === s);
    if (hits.length === 0) {
      const groups = [...new Set(manifest.entries.map((e) => e.group))];
      throw new UserError(`--only: '${sel}' is not in ${manifest.source} (groups: ${groups.join(', ')}; names: ${manifest.entries.map((e) => e.name).join(', ')})`);
    }
    hits.forEach((h) => picked.add(h));
  }
  return manifest.entries.filter((e) => picked.has(e));
}
