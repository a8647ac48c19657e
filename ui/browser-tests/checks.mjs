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
      // The tag search runs without the operation chosen before.
      await page.waitForURL((url) => url.searchParams.has('tags') && !url.searchParams.get('operation'));
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

  [
    'a /trace/{id} link opens the waterfall with exactly the trace spans, in tree order, with their durations',
    async (page, t) => {
      const trace = traceByName(t.fixture, 'checkout-declined');
      await page.goto(t.url(`/trace/${trace.traceID}`));
      const header = page.getByTestId('trace-header');
      await header.waitFor();
      expect((await header.getAttribute('data-span-count')) === String(trace.spanCount), 'span count in the header');
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="span-row"]').length === n, trace.spanCount);
      const rows = await page.getByTestId('span-row').evaluateAll((rs) =>
        rs.map((r) => ({
          id: r.getAttribute('data-span-id'),
          depth: Number(r.getAttribute('data-depth')),
          service: r.getAttribute('data-service'),
          duration: r.querySelector('[data-testid="span-duration"]')?.textContent?.trim(),
        })),
      );
      const want = trace.firstSpans;
      expect(
        JSON.stringify(rows.map((r) => r.id)) === JSON.stringify(want.map((s) => s.spanID)),
        `tree order: expected ${want.map((s) => `${s.service}:${s.operation}`).join(' > ')}, got ${rows.map((r) => r.service).join(' > ')}`,
      );
      // The fixture's durations are whole milliseconds below a second.
      rows.forEach((r, i) => expect(r.duration === `${want[i].durationMicros / 1000}ms`, `duration of row ${i}: ${r.duration} ≠ ${want[i].durationMicros / 1000}ms`));
      expect(JSON.stringify(rows.map((r) => r.depth)) === '[0,1,2,1,2]', `depths: ${rows.map((r) => r.depth)}`);
      expect((await page.locator('[data-testid="span-row"][data-error]').count()) === 1, 'one span marked as an error');
      await t.screenshot('trace');

      // Span detail: typed tags and the process.
      await page.getByTestId('span-row').first().click();
      const detail = page.getByTestId('span-detail');
      await detail.waitFor();
      const text = await detail.innerText();
      expect(text.includes('customer.tier') && text.includes('gold'), 'the root span detail shows its tag customer.tier=gold');
      expect(text.includes('frontend-host'), 'the span detail shows the process (host.name)');
      expect(page.url().includes(`span=${want[0].spanID}`), 'the selected span is in the URL');
      await t.screenshot('trace-span-detail');
    },
  ],
  [
    'find within a trace (uiFind) marks exactly the matching spans; the critical path is drawn',
    async (page, t) => {
      const trace = traceByName(t.fixture, 'checkout');
      await page.goto(t.url(`/trace/${trace.traceID}?uiFind=cart`));
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="span-row"]').length === 5);
      const matched = await page.locator('[data-testid="span-row"][data-match="true"]').evaluateAll((rs) =>
        rs.map((r) => `${r.getAttribute('data-service')}:${r.getAttribute('data-operation')}`),
      );
      sameSet(matched, ['frontend:POST /cart', 'cart:POST /cart'], 'spans matching "cart"');
      expect((await page.getByTestId('find-count').innerText()).includes('2'), 'the match count says 2');
      expect((await page.getByTestId('critical-segment').count()) > 0, 'critical-path segments are drawn');
    },
  ],
  [
    'the statistics and flame-graph views of a trace',
    async (page, t) => {
      const trace = traceByName(t.fixture, 'checkout');
      await page.goto(t.url(`/trace/${trace.traceID}/statistics`));
      await page.getByTestId('trace-statistics').waitFor();
      const services = await page.locator('[data-testid="stats-row"][data-level="service"]').evaluateAll((rs) =>
        rs.map((r) => r.getAttribute('data-service')),
      );
      sameSet(services, ['frontend', 'cart', 'payment'], 'services in the statistics table');
      await t.screenshot('trace-statistics');
      await page.goto(t.url(`/trace/${trace.traceID}/flamegraph`));
      await page.getByTestId('flamegraph').waitFor();
      expect((await page.getByTestId('flame-node').count()) === trace.spanCount, 'one flame-graph box per span');
      await t.screenshot('trace-flamegraph');
    },
  ],
  [
    'the trace downloads as JSON',
    async (page, t) => {
      const trace = traceByName(t.fixture, 'checkout');
      await page.goto(t.url(`/trace/${trace.traceID}`));
      await page.getByTestId('trace-header').waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-json').click()]);
      const path = await download.path();
      const { readFileSync } = await import('node:fs');
      const json = JSON.parse(readFileSync(path, 'utf8'));
      const spans = (json.data?.[0] ?? json).spans;
      expect(spans?.length === trace.spanCount, `the download holds the ${trace.spanCount} spans`);
    },
  ],
  [
    'a 10,000-span trace renders quickly, keeps few rows in the page and scrolls to its last span',
    async (page, t) => {
      const trace = traceByName(t.fixture, 'big');
      const answer = page.waitForResponse((r) => r.url().includes(`/api/traces/${trace.traceID}`));
      const t0 = Date.now();
      await page.goto(t.url(`/trace/${trace.traceID}`));
      const response = await answer;
      const bytes = (await response.body()).length;
      const answered = Date.now() - t0;
      await page.getByTestId('span-row').first().waitFor();
      const firstRender = Date.now() - t0;
      t.log(
        `10,000-span trace: first rows on screen ${firstRender} ms after navigation (aim: ≤ 1000 ms here); ` +
          `the API answered ${(bytes / 1e6).toFixed(1)} MB after ${answered} ms, the UI drew in ${firstRender - answered} ms`,
      );
      expect((await page.getByTestId('trace-header').getAttribute('data-span-count')) === String(trace.spanCount), 'all spans counted');
      const inDom = await page.getByTestId('span-row').count();
      expect(inDom < 300, `virtualised: ${inDom} rows in the DOM`);
      await t.screenshot('trace-10k');
      // Scroll to the end: the last span of the tree order appears.
      await page.getByTestId('timeline-rows').evaluate((el) => {
        const scroller = el.closest('[data-scroll]') ?? el.parentElement;
        let node = el;
        while (node && node.scrollHeight <= node.clientHeight + 1) node = node.parentElement;
        (node ?? scroller ?? document.scrollingElement).scrollTop = 1e9;
        window.scrollTo(0, document.body.scrollHeight);
      });
      await page.waitForTimeout(300);
      await page.locator(`[data-testid="span-row"][data-span-id="${trace.lastSpanID}"]`).waitFor({ timeout: 5000 });
    },
  ],
  [
    'an unknown trace id says so and what to check',
    async (page, t) => {
      t.allowConsole(/status of 404/);
      await page.goto(t.url('/trace/00000000000000000000000000abcdef'));
      await page.getByTestId('trace-not-found').first().waitFor();
    },
  ],
  [
    'compare: two checkouts share their structure; a home page and a checkout differ',
    async (page, t) => {
      const a = traceByName(t.fixture, 'checkout');
      const b = traceByName(t.fixture, 'checkout-declined');
      await page.goto(t.url(`/compare/${a.traceID}/${b.traceID}`));
      const summary = page.getByTestId('diff-summary');
      await summary.waitFor();
      expect((await summary.getAttribute('data-added')) === '0' && (await summary.getAttribute('data-removed')) === '0', 'same structure');
      expect((await page.getByTestId('diff-node').count()) === 5, 'five nodes in the merged tree');
      await t.screenshot('compare');
      const home = traceByName(t.fixture, 'home');
      await page.goto(t.url(`/compare/${home.traceID}/${a.traceID}`));
      await page.getByTestId('diff-summary').waitFor();
      const added = Number(await page.getByTestId('diff-summary').getAttribute('data-added'));
      const removed = Number(await page.getByTestId('diff-summary').getAttribute('data-removed'));
      expect(added > 0 && removed > 0, `home vs checkout: added ${added}, removed ${removed}`);
    },
  ],
  [
    'the service graph shows the fixture services and links with exact calls and errors',
    async (page, t) => {
      await page.goto(t.url('/dependencies?lookback=1h'));
      await page.getByTestId('graph-edge').first().waitFor();
      const edges = await page.getByTestId('graph-edge').evaluateAll((es) =>
        es.map((e) => `${e.getAttribute('data-parent')}→${e.getAttribute('data-child')}:${e.getAttribute('data-calls')}/${e.getAttribute('data-errors')}`),
      );
      sameSet(edges, t.fixture.links.map((l) => `${l.parent}→${l.child}:${l.calls}/${l.errors}`), 'graph edges (calls/errors)');
      const nodes = await page.getByTestId('graph-node').evaluateAll((ns) => ns.map((n) => n.getAttribute('data-service')));
      sameSet(nodes, t.fixture.services, 'graph nodes');
      const label = await page.locator('[data-testid="graph-edge"][data-parent="frontend"][data-child="payment"]').textContent();
      expect(/50(\.0)?%/.test(label) && /p99/.test(label), `the frontend → payment edge shows its error rate and latency: "${label}"`);
      await t.screenshot('graph');
      // Enter on an edge (keyboard) opens the traces across it: the checkouts' exemplars, by id.
      const checkouts = ['checkout', 'checkout-declined'].map((n) => traceByName(t.fixture, n).traceID);
      await page.locator('[data-testid="graph-edge"][data-parent="frontend"][data-child="payment"]').press('Enter');
      await page.waitForURL(/\/search\?traceID=/);
      const across = await resultIds(page);
      expect(across.length > 0 && across.every((id) => checkouts.includes(id)), `traces across frontend → payment: ${across}`);
      await page.goBack();
      await page.getByTestId('graph-node').first().waitFor();
      await page.locator('[data-testid="graph-node"][data-service="payment"]').click();
      await page.getByTestId('service-panel').waitFor();
      await t.screenshot('graph-service-panel');
    },
  ],
  [
    'the focus view draws operation-level links of a service',
    async (page, t) => {
      await page.goto(t.url('/deep-dependencies?service=frontend&lookback=1h'));
      const edge = page.locator(
        '[data-testid="op-edge"][data-parent-operation="POST /charge"][data-child-service="payment"][data-child-operation="POST /charge"]',
      );
      await edge.waitFor();
      expect((await edge.getAttribute('data-calls')) === '2' && (await edge.getAttribute('data-errors')) === '1', 'POST /charge → payment: 2 calls, 1 error');
      await t.screenshot('graph-focus');
    },
  ],
  [
    'the monitor shows the fixture call counts per operation',
    async (page, t) => {
      for (const service of ['frontend', 'payment']) {
        await page.goto(t.url(`/monitor?service=${service}&lookback=1h&spanKind=server`));
        for (const op of t.fixture.operations.filter((o) => o.service === service)) {
          const row = page.locator(`[data-testid="monitor-op-row"][data-operation="${op.operation}"]`);
          await row.waitFor();
          expect((await row.getAttribute('data-calls')) === String(op.calls), `${service} ${op.operation}: ${await row.getAttribute('data-calls')} calls, want ${op.calls}`);
        }
        const values = Number(await page.getByTestId('monitor-chart-calls').getAttribute('data-values'));
        expect(values > 0, 'the request-rate chart has points');
        if (service === 'frontend') await t.screenshot('monitor');
      }
    },
  ],
  [
    'the pipeline view shows lag 0, the dead letter, the receivers and the indices',
    async (page, t) => {
      await page.goto(t.url('/pipeline'));
      // Analytics appends watermark markers to quiet partitions, so the ingester is briefly one
      // record behind now and then: the view polls every 5 s, and must show 0 within a few polls.
      await page.getByTestId('lag-total-ingester').waitFor();
      await page
        .waitForFunction(() => document.querySelector('[data-testid="lag-total-ingester"]')?.textContent?.trim() === '0', null, { timeout: 30_000 })
        .catch(async () => {
          throw new Error(`ingester lag shown: ${await page.getByTestId('lag-total-ingester').innerText()}, want 0`);
        });
      expect(
        (await page.locator('[data-testid="group-ingester"] [data-testid="partition-row"]').count()) === t.fixture.partitions,
        'one row per partition',
      );
      expect((await page.getByTestId('dlq-count').innerText()).trim() === String(t.fixture.deadLetters), 'one dead letter');
      expect((await page.getByTestId('dlq-row').count()) >= 1, 'its reason is listed');
      const accepted = await page.locator('[data-testid="transport-row"][data-transport="otlp_http_protobuf"] [data-testid="accepted-total"]').innerText();
      expect(accepted.replace(/,/g, '').trim() === String(t.fixture.totalSpans), `OTLP/HTTP accepted ${accepted}, sent ${t.fixture.totalSpans}`);
      expect((await page.getByTestId('index-row').count()) > 0, 'indices listed');
      await t.screenshot('pipeline');
    },
  ],
];
