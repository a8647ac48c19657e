// The checks run.mjs runs, in order: [name, async (page, t) => {...}]. `t.fixture` is what
// e2e/tests/ui.rs sent and what each view must show; `t.url(path)`, `t.screenshot(name)`, `t.log`.
// A check throws (via `expect`) when the page does not show exactly what the fixture implies.

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

function sameSet(actual, expected, what) {
  const a = [...actual].sort();
  const e = [...expected].sort();
  expect(
    a.length === e.length && a.every((x, i) => x === e[i]),
    `${what}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`,
  );
}

const traceByName = (fixture, name) => fixture.traces.find((t) => t.name === name);

async function resultIds(page) {
  await page.getByTestId('search-results').waitFor();
  await page.waitForFunction(() => !document.querySelector('.loading'));
  return page.getByTestId('trace-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trace-id')));
}

/** Jaeger UI's search URL for a fixture query (tags in logfmt become a JSON object). */
function searchPath(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key === 'tags') {
      const tags = Object.fromEntries(value.split(' ').map((pair) => pair.split('=')));
      params.set('tags', JSON.stringify(tags));
    } else params.set(key, value);
  }
  return `/search?${params}`;
}

export const checks = [
  [
    'the root opens the search view, with the fixture services listed',
    async (page, t) => {
      await page.goto(t.url('/'));
      await page.waitForURL(/\/search/);
      const select = page.getByTestId('search-service');
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid="search-service"] option').length >= n,
        t.fixture.services.length,
      );
      const options = await select.locator('option').evaluateAll((os) => os.map((o) => o.value).filter(Boolean));
      sameSet(options, t.fixture.services, 'services in the search form');
    },
  ],
  [
    'search by service through the form (keyboard) finds exactly its traces',
    async (page, t) => {
      const search = t.fixture.searches.find((s) => s.name === 'service');
      await page.goto(t.url('/search'));
      await page.getByTestId('search-service').selectOption(search.query.service);
      // Enter in a text field submits the form, as a keyboard user would.
      await page.getByTestId('search-limit').focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/service=frontend/);
      sameSet(await resultIds(page), search.expect, 'traces of service=frontend');
      const declined = traceByName(t.fixture, 'checkout-declined');
      const row = page.locator(`[data-testid="trace-row"][data-trace-id="${declined.traceID}"]`);
      expect((await row.getByTestId('span-count').innerText()).includes(String(declined.spanCount)), 'span count of the declined checkout');
      expect((await row.getByTestId('error-count').innerText()).includes(String(declined.errorCount)), 'error count of the declined checkout');
      const chips = await row.getByTestId('service-chip').evaluateAll((cs) =>
        cs.map((c) => `${c.getAttribute('data-service')}:${c.getAttribute('data-count')}`),
      );
      sameSet(chips, ['frontend:3', 'cart:1', 'payment:1'], 'services touched by the declined checkout');
      await page.getByTestId('scatter-plot').waitFor();
      await t.screenshot('search');
    },
  ],
  [
    'search by operation, tag and duration narrow to exactly the expected traces',
    async (page, t) => {
      const operation = t.fixture.searches.find((s) => s.name === 'operation');
      await page.goto(t.url('/search'));
      await page.getByTestId('search-service').selectOption(operation.query.service);
      await page.waitForFunction(
        (op) => [...document.querySelectorAll('[data-testid="search-operation"] option')].some((o) => o.value === op),
        operation.query.operation,
      );
      await page.getByTestId('search-operation').selectOption(operation.query.operation);
      await page.getByTestId('search-submit').click();
      await page.waitForURL(/operation=/);
      sameSet(await resultIds(page), operation.expect, 'traces of operation GET /home');

      const tag = t.fixture.searches.find((s) => s.name === 'tag');
      await page.getByTestId('search-operation').selectOption('');
      await page.getByTestId('search-tags').fill(tag.query.tags);
      await page.getByTestId('search-submit').click();
      await page.waitForURL(/tags=/);
      sameSet(await resultIds(page), tag.expect, 'traces with customer.tier=gold');

      const duration = t.fixture.searches.find((s) => s.name === 'duration');
      await page.getByTestId('search-tags').fill('');
      await page.getByTestId('search-min-duration').fill(duration.query.minDuration);
      await page.getByTestId('search-submit').click();
      await page.waitForURL(/minDuration=100ms/);
      sameSet(await resultIds(page), duration.expect, 'traces with minDuration=100ms');

      // A shared link reproduces a search, Jaeger UI's parameters included.
      const child = t.fixture.searches.find((s) => s.name === 'child service');
      await page.goto(t.url(searchPath(child.query)));
      sameSet(await resultIds(page), child.expect, 'traces of service=payment by URL');
    },
  ],
  [
    'a bad tag filter says what to type and sends no request',
    async (page, t) => {
      await page.goto(t.url('/search?service=frontend&lookback=1h'));
      await resultIds(page);
      await page.getByTestId('search-tags').fill('=broken');
      await page.getByTestId('search-submit').click();
      await page.getByTestId('tags-error').waitFor();
      expect(!(await page.url()).includes('broken'), 'the URL must not take an invalid tag filter');
    },
  ],
];
