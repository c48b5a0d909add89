#!/usr/bin/env node
/**
 * Opens exported notebook HTML offline in headless Debian Chromium and checks that its figures draw.
 *
 * Chromium is Debian's (`/usr/bin/chromium`, scripts/system_packages.txt), driven through
 * puppeteer-core; no browser is ever downloaded. Every request that is not file:, data:, blob: or
 * about: is aborted and listed under "blocked", separately from the page's own failures. A page
 * passes when it raised no exception, it has at least `minPlots` plot containers (our
 * `.ddtb-plot` divs and any other `.js-plotly-plot`), and every container holds a plotly SVG with
 * drawn paths. A figure that needed the network therefore fails through its missing SVG, and the
 * blocked list says what it asked for.
 *
 * Usage: node scripts/check_html.js [--json] [--min-plots N] FILE.html ...
 * As a module: `const { checkHtml } = require('./scripts/check_html.js')`.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');

const CHROMIUM = process.env.DDTB_CHROMIUM || '/usr/bin/chromium';
const LOCAL_SCHEMES = ['file:', 'data:', 'blob:', 'about:'];
const PLOT_SELECTOR = '.ddtb-plot, .js-plotly-plot';

/** Launches headless Chromium with a throw-away profile; `close()` also removes the profile. */
async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run npm run setup (apt package chromium)`);
  }
  const puppeteer = require('puppeteer-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ddtb-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // --no-sandbox: Chromium's sandbox refuses to run as root. --disable-dev-shm-usage: containers
    // often have a 64 MB /dev/shm, too small for pages that carry plotly.js.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  return {
    browser,
    async close() {
      try { await browser.close(); } finally { fs.rmSync(profile, { recursive: true, force: true }); }
    },
  };
}

/** What each plot container holds, read inside the page. */
function inspectPlots(selector) {
  return Array.from(document.querySelectorAll(selector))
    // A .js-plotly-plot inside one of our containers is the same figure: count the outer one.
    .filter((el) => !el.parentElement || !el.parentElement.closest(selector))
    .map((el, i) => {
      const svg = el.querySelector('svg.main-svg');
      const paths = Array.from(el.querySelectorAll('svg.main-svg path'))
        .filter((p) => (p.getAttribute('d') || '').length > 2).length;
      return { id: el.id || `#${i}`, svg: svg !== null, drawnPaths: paths, traces: el.querySelectorAll('.trace').length,
        text: svg ? '' : (el.textContent || '').slice(0, 200) };
    });
}

/**
 * Loads `file` and reports { file, ok, problems, pageErrors, consoleErrors, blocked, plots }.
 * options.minPlots (default 1): fewer containers is a problem. options.timeoutMs (default 60000):
 * how long to wait for every container to hold its SVG. options.browser: reuse a launched browser.
 * options.probe: a function evaluated in the page afterwards; its (serialisable) result is report.probe.
 */
async function checkHtml(file, options = {}) {
  const minPlots = options.minPlots ?? 1;
  const timeoutMs = options.timeoutMs ?? 60000;
  const own = options.browser ? null : await launchBrowser();
  const browser = options.browser || own.browser;
  const report = { file, ok: false, problems: [], pageErrors: [], consoleErrors: [], blocked: [], plots: [] };
  const page = await browser.newPage();
  try {
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      const url = request.url();
      if (LOCAL_SCHEMES.some((s) => url.startsWith(s))) {
        void request.continue();
      } else {
        report.blocked.push(url);
        void request.abort('blockedbyclient');
      }
    });
    page.on('pageerror', (err) => report.pageErrors.push(String(err && err.message ? err.message : err).split('\n')[0]));
    page.on('console', (msg) => { if (msg.type() === 'error') report.consoleErrors.push(msg.text().split('\n')[0]); });
    await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: 'load', timeout: timeoutMs });
    try {
      await page.waitForFunction((selector) => {
        const plots = document.querySelectorAll(selector);
        return plots.length > 0 && Array.from(plots).every((el) => el.querySelector('svg.main-svg path'));
      }, { timeout: timeoutMs, polling: 200 }, PLOT_SELECTOR);
    } catch {
      // Reported below from what the containers hold.
    }
    report.plots = await page.evaluate(inspectPlots, PLOT_SELECTOR);
    if (options.probe) report.probe = await page.evaluate(options.probe);
  } finally {
    await page.close().catch(() => undefined);
    if (own) await own.close();
  }
  if (report.pageErrors.length > 0) report.problems.push(`${report.pageErrors.length} page exception(s): ${report.pageErrors[0]}`);
  if (report.plots.length < minPlots) report.problems.push(`${report.plots.length} plot container(s), expected at least ${minPlots}`);
  for (const plot of report.plots) {
    if (!plot.svg || plot.drawnPaths === 0) {
      report.problems.push(`plot ${plot.id}: no drawn SVG${plot.text ? ` (says: ${plot.text})` : ''}`
        + `${report.blocked.length ? `; blocked requests: ${report.blocked.length}` : ''}`);
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}

async function main(argv) {
  const files = [];
  let json = false;
  let minPlots = 1;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') json = true;
    else if (argv[i] === '--min-plots') minPlots = Number(argv[++i]);
    else if (argv[i].startsWith('-')) throw new Error(`unknown option ${argv[i]}`);
    else files.push(argv[i]);
  }
  if (files.length === 0 || !Number.isInteger(minPlots) || minPlots < 0) {
    throw new Error('usage: check_html.js [--json] [--min-plots N] FILE.html ...');
  }
  const session = await launchBrowser();
  const reports = [];
  try {
    for (const file of files) {
      if (!fs.existsSync(file)) throw new Error(`${file}: not found`);
      reports.push(await checkHtml(file, { minPlots, browser: session.browser }));
    }
  } finally {
    await session.close();
  }
  if (json) {
    process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
  } else {
    for (const r of reports) {
      const drawn = r.plots.filter((p) => p.svg && p.drawnPaths > 0).length;
      process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.file}: ${drawn}/${r.plots.length} plots drawn, `
        + `${r.pageErrors.length} page exceptions, ${r.blocked.length} blocked requests\n`);
      for (const p of r.problems) process.stdout.write(`     ${p}\n`);
      for (const b of r.blocked) process.stdout.write(`     blocked: ${b}\n`);
    }
  }
  return reports.every((r) => r.ok) ? 0 : 1;
}

module.exports = { checkHtml, launchBrowser, CHROMIUM };

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`check_html: ${e.message}\n`);
    process.exitCode = 2;
  });
}
