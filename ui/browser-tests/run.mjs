// Browser tests of skein's UI in a real Chromium (Debian's, driven by playwright-core), against a
// real stack that e2e/tests/ui.rs started and filled with fixture traces. That test writes the
// fixture and every figure a view must show to $SKEIN_UI_FIXTURE; each check below opens a view
// the way a person would (by URL or by clicking), compares what is on screen with the fixture and
// saves a screenshot to $SKEIN_UI_SCREENSHOTS.
//
//   SKEIN_UI_FIXTURE=... SKEIN_CHROMIUM=/usr/bin/chromium node browser-tests/run.mjs [name filter]
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { checks } from './checks.mjs';

const fixturePath = process.env.SKEIN_UI_FIXTURE;
if (!fixturePath) {
  console.error('SKEIN_UI_FIXTURE is not set: run these through `make browser` (cargo test -p skein-e2e --test ui)');
  process.exit(2);
}
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8'));
const screenshots = process.env.SKEIN_UI_SCREENSHOTS ?? join(process.cwd(), '..', 'target', 'ui-screenshots');
mkdirSync(screenshots, { recursive: true });
// Screenshots of failures belong to this run only.
for (const file of readdirSync(screenshots)) if (file.startsWith('FAILED-')) rmSync(join(screenshots, file));
const filter = process.argv[2];

const browser = await chromium.launch({
  executablePath: process.env.SKEIN_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  // As root in a sandbox without a network: no sandbox, no GPU, and none of Chromium's own
  // background connections (each would be refused and retried).
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
  ],
});

let failed = 0;
let passed = 0;
const started = Date.now();
for (const [name, check] of checks) {
  if (filter && !name.includes(filter)) continue;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const pageErrors = [];
  // Console errors a check expects (e.g. the 404 of a trace that is not there).
  const allowed = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error' || allowed.some((re) => re.test(message.text()))) return;
    pageErrors.push(`console: ${message.text()}`);
  });
  const t0 = Date.now();
  try {
    await check(page, {
      fixture,
      url: (path) => `${fixture.baseUrl}${path}`,
      screenshot: (file) => page.screenshot({ path: join(screenshots, `${file}.png`), fullPage: false }),
      log: (line) => console.log(`    ${line}`),
      allowConsole: (re) => allowed.push(re),
    });
    if (pageErrors.length) throw new Error(`the page reported errors:\n      ${pageErrors.join('\n      ')}`);
    passed++;
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (error) {
    failed++;
    console.log(`not ok - ${name}: ${error.stack ?? error}`);
    await page.screenshot({ path: join(screenshots, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => {});
  } finally {
    await context.close();
  }
}
await browser.close();
console.log(`${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${screenshots}`);
process.exit(failed || passed === 0 ? 1 : 0);
