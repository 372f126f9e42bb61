// End-to-end test of the hashpivot dashboard in a real browser: Debian's chromium driven by
// playwright-core. Starts `hashpivot serve` on a free port with a temporary database, edits the
// scenario, starts a run, follows its progress, checks the charts and reads values from the page
// against the API. Screenshots of every page go to e2e/screenshots/. Exits non-zero on failure.
//
//   HASHPIVOT_BIN=target/debug/hashpivot node e2e/dashboard.test.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { inflateRawSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const bin = resolve(root, process.env.HASHPIVOT_BIN || 'target/debug/hashpivot');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

let passed = 0;
let failed = 0;
const results = [];
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed += 1;
    results.push(`ok   ${name} (${Date.now() - t0} ms)`);
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    results.push(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
    throw e;
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error('assertion failed: ' + msg);
}

// ---------------------------------------------------------------- server
function startServer(dbDir, extra = []) {
  return new Promise((resolveUrl, reject) => {
    const child = spawn(bin, ['--db', join(dbDir, 'hashpivot.sqlite'), 'serve', '--addr', '127.0.0.1:0', ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HASHPIVOT_TOKEN: '' },
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error('server did not start in 60 s: ' + err)), 60000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) {
        clearTimeout(timer);
        resolveUrl({ child, url: m[0] });
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${err}`)); });
  });
}

// A minimal XLSX reader (a zip of XML parts): enough to check the workbook's cells.
function unzip(buf) {
  const files = {};
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  const n = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < n; i++) {
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extra = buf.readUInt16LE(p + 30);
    const comment = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    files[name] = (method === 8 ? inflateRawSync(data) : data).toString('utf8');
    p += 46 + nameLen + extra + comment;
  }
  return files;
}
function readXlsx(buf) {
  const f = unzip(buf);
  const unxml = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  const shared = [...(f['xl/sharedStrings.xml'] || '').matchAll(/<si>(.*?)<\/si>/gs)].map((m) => unxml(m[1].replace(/<[^>]+>/g, '')));
  const names = [...f['xl/workbook.xml'].matchAll(/<sheet [^>]*name="([^"]+)"/g)].map((m) => unxml(m[1]));
  const book = {};
  names.forEach((name, k) => {
    const rows = [];
    for (const c of f[`xl/worksheets/sheet${k + 1}.xml`].matchAll(/<c r="([A-Z]+)(\d+)"([^>]*?)(?:\/>|>(.*?)<\/c>)/gs)) {
      const col = [...c[1]].reduce((a, ch) => a * 26 + ch.charCodeAt(0) - 64, 0) - 1;
      const row = Number(c[2]) - 1;
      const v = (c[4] || '').match(/<v>(.*?)<\/v>/);
      if (!v) continue;
      (rows[row] = rows[row] || [])[col] = /t="s"/.test(c[3]) ? shared[Number(v[1])] : Number(v[1]);
    }
    book[name] = rows;
  });
  return book;
}

async function getJson(url) {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}

const dbDir = mkdtempSync(join(tmpdir(), 'hashpivot-e2e-'));
let server = null;
let browser = null;
try {
  server = await startServer(dbDir);
  const base = server.url;
  console.log(`server ${base}`);
  browser = await chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // A common laptop screen.
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const consoleErrors = [];
  // Answers a step provokes on purpose (a refused run, a deleted run) are listed here.
  const expectedErrors = [];
  page.on('console', (m) => {
    // Chromium logs every 4xx answer; those a step provokes on purpose are expected.
    const provoked = /Failed to load resource: the server responded with a status of (404|422)/.test(m.text()) && expectedErrors.length > 0;
    if (m.type() === 'error' && !provoked) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('response', async (r) => {
    if (r.status() >= 400 && !expectedErrors.some((re) => re.test(`${r.status()} ${r.request().method()} ${r.url()}`))) consoleErrors.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}: ${await r.text().catch(() => '')}`);
  });
  // Nothing may leave the machine: every request goes to the server under test.
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });

  await step('editor loads the default scenario', async () => {
    await page.goto(base);
    await page.waitForSelector('body[data-ready="/"]');
    const api = await getJson(base + 'api/scenario/default');
    assert(api.status === 200, 'default scenario');
    // Shown rounded to 7 significant digits; the exact value is kept until the field is edited.
    const spot = await page.inputValue('#f-price-spot');
    const exact = (await page.getAttribute('#f-price-spot', 'data-exact')) ?? spot;
    assert(Number(exact) === api.body.price.spot, `price.spot ${exact} vs ${api.body.price.spot}`);
    assert(spot.replace('.', '').length <= 8, 'no false precision: ' + spot);
    // Derived figures: today's hashprice from price, difficulty, subsidy and fees.
    const hp = await page.textContent('#derived-hashprice');
    assert(/^\$\d+\.\d\d \/PH\/s\/day$/.test(hp), 'hashprice shown: ' + hp);
    const rows = await page.locator('#fleet tbody tr').count();
    assert(rows === api.body.mining.fleet.length, `fleet rows ${rows}`);
    await page.waitForSelector('#valid.status-ok');
    await page.screenshot({ path: join(shots, 'editor.png'), fullPage: true });
  });

  await step('a bad value gets a message beside its field, and the run button is disabled', async () => {
    await page.fill('#f-price-vol', '-1');
    await page.waitForFunction(() => {
      const s = document.querySelector('[data-err-for="price.vol"]');
      return s && /allowed/.test(s.textContent);
    });
    const msg = await page.textContent('[data-err-for="price.vol"]');
    assert(/0 <= x <= 5/.test(msg), 'message names the range: ' + msg);
    assert(await page.isDisabled('#run'), 'run button disabled');
    assert(await page.locator('#f-price-vol.bad').count() === 1, 'field marked');
    await page.screenshot({ path: join(shots, 'editor-invalid.png') });
    await page.fill('#f-price-vol', '0.5');
    await page.waitForSelector('#valid.status-ok');
    assert((await page.textContent('[data-err-for="price.vol"]')) === '', 'message cleared');
    // The schedule is a table of steps; shares over 100 % in all are refused beside it.
    const sched = (await getJson(base + 'api/scenario/default')).body.strategy.schedule;
    assert(await page.locator('#schedule tbody tr').count() === sched.length, 'schedule rows');
    const share = page.locator('#schedule tbody tr').nth(sched.length - 1).locator('[data-sched="share"]');
    assert(Number(await share.inputValue()) === sched[sched.length - 1][1] * 100, 'share in %');
    await share.fill('90');
    await page.waitForFunction(() => document.querySelector('[data-err-for="strategy.schedule"]').textContent !== '');
    await share.fill(String(sched[sched.length - 1][1] * 100));
    await page.waitForSelector('#valid.status-ok');
  });

  await step('picking a catalog machine fills in its nameplate values', async () => {
    const machines = (await getJson(base + 'api/machines')).body;
    const m = machines.find((x) => x.model === 'Antminer S19 Pro') || machines[0];
    const before = await page.locator('#fleet tbody tr').count();
    await page.click('text=+ add batch');
    const row = page.locator('#fleet tbody tr').nth(before);
    await row.locator('[data-fleet="model"]').fill(m.model);
    await row.locator('[data-fleet="model"]').dispatchEvent('change');
    assert(Number(await row.locator('[data-fleet="hashrate_ths"]').inputValue()) === m.hashrate_ths, 'hashrate filled');
    assert(Number(await row.locator('[data-fleet="power_w"]').inputValue()) === m.power_w, 'power filled');
    // 1000 more machines still fit the site; remove the row again.
    await page.waitForSelector('#valid.status-ok');
    await row.locator('button').click();
    assert(await page.locator('#fleet tbody tr').count() === before, 'row removed');
    await page.waitForSelector('#valid.status-ok');
  });

  let runId = null;
  const seen = [];
  await step('change inputs, start a run and follow its progress', async () => {
    await page.selectOption('#f-strategy-kind', 'convert');
    await page.fill('#f-strategy-share', '0.4');
    await page.fill('#f-run-paths', '4000');
    await page.fill('#f-ai-lease-usd-per-kw-month', '140');
    await page.waitForSelector('#valid.status-ok');
    await page.click('#run');
    await page.waitForURL(/\/runs\/[0-9a-f]+$/);
    runId = page.url().split('/').pop();
    // Sample the progress shown on the page until the run is done.
    const t0 = Date.now();
    for (;;) {
      const status = await page.textContent('#status');
      const p = Number(await page.getAttribute('#progress', 'value'));
      seen.push([status, p]);
      if (status === 'done' || status === 'failed') break;
      assert(Date.now() - t0 < 180000, 'run did not finish in 3 minutes');
      await page.waitForTimeout(100);
    }
    assert(seen[seen.length - 1][0] === 'done', 'run failed: ' + JSON.stringify(seen.slice(-3)));
    const mid = seen.filter(([s, p]) => s === 'running' && p > 0 && p < 1);
    assert(mid.length > 0, 'a running state with progress between 0 and 1 was shown: ' + JSON.stringify(seen));
    for (let i = 1; i < seen.length; i++) assert(seen[i][1] >= seen[i - 1][1], 'progress never goes back');
    await page.waitForSelector('body[data-ready^="/runs/"]');
    await page.waitForSelector('#chart-npv svg');
  });

  await step('the request made by the page is the edited scenario', async () => {
    const run = await getJson(base + 'api/runs/' + runId);
    assert(run.status === 200 && run.body.status === 'done', 'run done');
    assert(run.body.request.strategy === 'convert' && run.body.request.share === 0.4, 'strategy and share');
    assert(run.body.request.paths === 4000 && run.body.paths === 4000, 'paths');
    assert(run.body.scenario.ai.lease_usd_per_kw_month === 140, 'edited lease rate');
    assert(run.body.scenario.price.vol === 0.5, 'edited price vol');
  });

  await step('results table values match the API', async () => {
    const run = (await getJson(base + 'api/runs/' + runId)).body;
    const best = run.results.reduce((a, b) => (b.npv.mean > a.npv.mean ? b : a));
    const bestText = await page.textContent('#best');
    assert(bestText.includes(best.strategy), 'best strategy named: ' + bestText);
    for (const r of run.results) {
      const label = r.strategy + (typeof r.share === 'number' && r.strategy !== 'mine' ? ' ' + Math.round(r.share * 100) + '%' : '');
      const row = page.locator(`#results-table tr[data-strategy="${label}"]`);
      assert(await row.count() === 1, 'row for ' + label);
      for (const [field, value] of [['mean', r.npv.mean], ['p5', r.npv.p5], ['p95', r.npv.p95], ['prob_negative', r.prob_negative]]) {
        const v = Number(await row.locator(`td[data-field="${field}"]`).getAttribute('data-value'));
        assert(v === value, `${label} ${field}: page ${v}, API ${value}`);
      }
      // The text a person reads is the same number, rounded ($12.34M).
      const text = await row.locator('td[data-field="mean"]').textContent();
      const m = text.match(/^(-?)\$([\d.]+)([kMB]?)$/);
      assert(m, 'formatted ' + text);
      const k = { '': 1, k: 1e3, M: 1e6, B: 1e9 }[m[3]];
      const shown = (m[1] ? -1 : 1) * Number(m[2]) * k;
      assert(Math.abs(shown - r.npv.mean) <= 0.006 * k, `shown ${text} vs ${r.npv.mean}`);
    }
  });

  await step('charts: NPV distribution, fans, site cash, tornado; hover shows values', async () => {
    for (const name of ['npv', 'price', 'hashprice', 'difficulty', 'hashrate', 'site_cash', 'cash_bars', 'tornado']) {
      await page.waitForSelector(`#chart-${name} svg`);
    }
    // The NPV chart carries the API's numbers.
    const run = (await getJson(base + 'api/runs/' + runId)).body;
    const mean = Number(await page.getAttribute('#chart-npv [data-series="mine"]', 'data-mean'));
    assert(mean === run.results[0].npv.mean, 'npv chart mean');
    // Hover over the middle of the price fan: the tooltip shows the median of that year.
    await page.locator('#chart-price svg').scrollIntoViewIfNeeded();
    const box = await page.locator('#chart-price svg').boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await page.waitForSelector('.hp-tip', { state: 'visible' });
    const tip = await page.textContent('.hp-tip');
    assert(/^year \d+\nprice: median \$/.test(tip), 'tooltip: ' + tip);
    const year = Number(tip.match(/^year (\d+)/)[1]);
    const idx = run.bands.years.indexOf(year);
    assert(idx >= 0, 'year in bands');
    const want = run.bands.price_usd.p50[idx];
    const got = tip.match(/median \$([\d.]+)([kM]?)/);
    const val = Number(got[1]) * { '': 1, k: 1e3, M: 1e6 }[got[2]];
    assert(Math.abs(val - want) / want < 0.01, `tooltip median ${val} vs API ${want}`);
    await page.screenshot({ path: join(shots, 'results-hover.png') });
    await page.mouse.move(5, 5);
    // The tornado lists the inputs the server moved.
    const inputs = await page.locator('#chart-tornado [data-input]').count();
    assert(inputs === run.sensitivity.inputs.length && inputs >= 6, 'tornado rows ' + inputs);
    // The tornado is on the gap to mining: each bar end is the strategy's mean minus mining's,
    // and a bar that crosses zero is marked as flipping the decision.
    const sens = run.sensitivity;
    for (const i of sens.inputs) {
      const row = page.locator(`#chart-tornado [data-input="${i.key}"]`);
      const low = Number(await row.getAttribute('data-low'));
      assert(low === i.low[sens.strategy] - i.low.mine, `${i.key} low gap ${low}`);
      const base = sens.base[sens.strategy] - sens.base.mine;
      const flips = (i.low[sens.strategy] - i.low.mine > 0) !== (base > 0) || (i.high[sens.strategy] - i.high.mine > 0) !== (base > 0);
      assert((await row.getAttribute('data-flips') !== '') === flips, `${i.key} flip marker`);
    }
    // Annual cash as bars: one bar per strategy and year, the legend names each strategy.
    const bars = await page.locator('#chart-cash_bars .hp-bar').count();
    assert(bars === run.bands.site_cash_usd.length * run.bands.years.length, 'cash bars ' + bars);
    for (const c of run.bands.site_cash_usd) {
      const v = Number(await page.getAttribute(`#chart-cash_bars [data-series="${c.strategy === 'mine' ? 'mine' : c.strategy + ' ' + Math.round(c.share * 100) + '%'}"] .hp-bar`, 'data-value'));
      assert(v === c.p50[0], `year-1 bar of ${c.strategy}: ${v} vs ${c.p50[0]}`);
    }
    await page.screenshot({ path: join(shots, 'results.png'), fullPage: true });
  });

  await step('runs list and history pages', async () => {
    await page.click('nav a[data-nav="runs"]');
    await page.waitForSelector('body[data-ready="/runs"]');
    assert(await page.locator(`a[href="/runs/${runId}"]`).count() === 1, 'run listed');
    await page.screenshot({ path: join(shots, 'runs.png'), fullPage: true });
    await page.click('nav a[data-nav="history"]');
    await page.waitForSelector('body[data-ready="/history"]');
    for (const s of ['price', 'difficulty', 'hashprice', 'fees']) {
      await page.waitForSelector(`#chart-${s} svg`);
      const halvings = await page.locator(`#chart-${s} .hp-marker`).count();
      assert(halvings === 4, `${s}: ${halvings} halvings marked`);
    }
    // The last price point on the chart is the API's last point.
    const api = (await getJson(base + 'api/history/price')).body;
    const last = api.points[api.points.length - 1];
    await page.locator('#chart-price svg').scrollIntoViewIfNeeded();
    const box = await page.locator('#chart-price svg').boundingBox();
    await page.mouse.move(box.x + box.width - 22, box.y + box.height * 0.5);
    await page.waitForSelector('.hp-tip', { state: 'visible' });
    const tip = await page.textContent('.hp-tip');
    assert(tip.startsWith(last[0].slice(0, 4)), `tooltip ${tip} vs last date ${last[0]}`);
    await page.screenshot({ path: join(shots, 'history.png'), fullPage: true });
    await page.mouse.move(5, 5);
    // Zoom to the last four years: only the 2024 halving is left on the charts.
    // Log axes: price, difficulty and hashprice tick at decades (equal steps, labels like $0.01,
    // $1k, $10B); fees are linear.
    for (const [s, want] of [['price', ['$0.01', '$1', '$100', '$10k']], ['difficulty', ['1', '100', '10k', '1M']], ['hashprice', ['$10', '$1k', '$100k']]]) {
      const ticks = await page.$$eval(`#chart-${s} .hp-axes text[text-anchor="end"]`, (ts) => ts.map((t) => [t.textContent, Number(t.getAttribute('y'))]));
      const labels = ticks.map((t) => t[0]);
      for (const w of want) assert(labels.includes(w), `${s} ticks ${labels}`);
      assert(!labels.includes('$0'), `${s}: a decade labelled $0`);
      const steps = ticks.slice(1).map((t, i) => ticks[i][1] - t[1]);
      assert(steps.every((d) => Math.abs(d - steps[0]) < 0.6), `${s}: decades at equal steps ${steps}`);
    }
    const fees = await page.$$eval('#chart-fees .hp-axes text[text-anchor="end"]', (ts) => ts.map((t) => t.textContent));
    assert(fees.includes('0 BTC') && fees.includes('500 BTC'), 'fees linear: ' + fees);
    await page.click('[data-zoom="4 years"]');
    await page.waitForFunction(() => ['price', 'difficulty', 'hashprice', 'fees'].every((s) => document.querySelectorAll(`#chart-${s} .hp-marker`).length === 1));
    await page.click('[data-zoom="all"]');
    await page.waitForFunction(() => ['price', 'difficulty', 'hashprice', 'fees'].every((s) => document.querySelectorAll(`#chart-${s} .hp-marker`).length === 4));
  });


  // ------------------------------------------------------------ the decision card (issue 16)
  let decision = null;
  await step('the decision card shows the API\'s figures', async () => {
    await page.goto(base + 'runs/' + runId);
    await page.waitForSelector('#decision[data-ready]', { timeout: 400000 });
    const d = (await getJson(base + 'api/runs/' + runId + '/decision')).body;
    decision = d;
    assert(d.status === 'done' && typeof d.recommended === 'string', 'decision API');
    assert((await page.textContent('[data-fig="recommended"]')) === d.recommended, 'recommended');
    assert(Number(await page.getAttribute('[data-fig="delta"]', 'data-value')) === d.delta_vs_mine.mean, 'delta');
    assert(Number(await page.getAttribute('[data-fig="delta-se"]', 'data-value')) === d.delta_vs_mine.stderr, 'delta s.e.');
    assert(Number(await page.getAttribute('[data-fig="prob"]', 'data-value')) === d.prob_beats_mine, 'P(beats)');
    assert((await page.textContent('#decision-why')) === d.why, 'why');
    assert(/announced deals/.test(await page.textContent('#decision')), 'lease placed among the deals');
    for (const b of d.breakeven) {
      const v = await page.getAttribute(`#breakeven tr[data-input="${b.input}"]`, 'data-value');
      assert(Number(v) === b.value || (v === 'null' && b.value === null), `${b.input}: ${v} vs ${b.value}`);
    }
    // ΔNPV is the difference of the two strategies' means on the same paths.
    const run = (await getJson(base + 'api/runs/' + runId)).body;
    const rec = run.results.find((r) => r.strategy + (r.strategy === 'convert' ? ' ' + Math.round(r.share * 100) + '%' : '') === d.recommended);
    assert(rec, 'recommended strategy is in the results');
    const want = rec.npv.mean - run.results[0].npv.mean;
    assert(Math.abs(d.delta_vs_mine.mean - want) <= 1e-6 * Math.abs(want) + 1e-3, `delta ${d.delta_vs_mine.mean} vs ${want}`);
    // The ΔNPV-vs-mining distribution: one row per strategy, its mean the API's.
    await page.waitForSelector('#chart-delta svg');
    const dm = await page.getAttribute(`#chart-delta [data-series="${d.recommended}"]`, 'data-mean');
    assert(Number(dm) === d.delta_vs_mine.mean, `delta chart mean ${dm}`);
    // The NPV distribution is the same kind of chart for every strategy: a ridgeline with y ticks.
    assert(await page.locator('#chart-npv svg[data-layout="ridgeline"]').count() === 1, 'ridgeline');
    assert(/peak \d/.test(await page.textContent('#chart-npv')), 'y ticks (peak share) on the rows');
    // The lease × capex grid: the scenario's cell is the decision's, every cell from the API.
    await page.waitForSelector('#chart-grid svg');
    const g = d.grid;
    for (let r = 0; r < g.capex.length; r++) {
      for (let c = 0; c < g.lease.length; c++) {
        const cell = page.locator(`#chart-grid .hp-cell[data-row="${r}"][data-col="${c}"]`);
        assert((await cell.getAttribute('data-best')) === (g.best[r][c] || ''), `grid ${r},${c}`);
        assert(Number(await cell.getAttribute('data-value')) === g.gap[r][c], `grid gap ${r},${c}`);
      }
    }
    assert((g.best[2][2] === 'mine') === (d.recommended === 'mine'), 'the middle cell is the decision');
    await page.screenshot({ path: join(shots, 'run-1400.png'), fullPage: true });
  });

  await step('the break-even lease rate flips the decision (re-runs at ±1 % through the API)', async () => {
    const be = decision.breakeven.find((b) => b.input === 'ai.lease_usd_per_kw_month');
    assert(be && be.value > 0, 'a break-even lease rate: ' + JSON.stringify(be));
    const run = (await getJson(base + 'api/runs/' + runId)).body;
    const best = async (lease) => {
      const sc = JSON.parse(JSON.stringify(run.scenario));
      sc.ai.lease_usd_per_kw_month = lease;
      const r = await fetch(base + 'api/runs', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ scenario: sc, paths: decision.breakeven_paths, seed: decision.seed }) });
      assert(r.status === 201, 'run accepted: ' + r.status);
      const id = (await r.json()).id;
      for (;;) {
        const x = (await getJson(base + 'api/runs/' + id)).body;
        if (x.status === 'done') return x.results.reduce((a, b) => (b.npv.mean > a.npv.mean ? b : a)).strategy;
        assert(x.status !== 'failed', 'run failed');
        await new Promise((ok) => setTimeout(ok, 200));
      }
    };
    const above = await best(be.value * 1.01);
    const below = await best(be.value * 0.99);
    assert(above !== below, `the decision flips between ${be.value * 0.99} (${below}) and ${be.value * 1.01} (${above})`);
    assert(below === 'mine' && above === 'convert', `below ${below}, above ${above}`);
  });

  await step('CSV downloads parse and carry the API\'s numbers', async () => {
    const run = (await getJson(base + 'api/runs/' + runId)).body;
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#downloads a[data-csv="cashflow"]')]);
    const text = readFileSync(await dl.path(), 'utf8');
    const rows = text.trim().split('\n').map((l) => l.split(','));
    assert(rows.length === run.bands.years.length + 1, 'one row per year: ' + rows.length);
    const col = rows[0].indexOf('mine_cash_usd_p50');
    assert(col > 0, 'mine column: ' + rows[0].join(','));
    assert(Number(rows[1][col]) === run.bands.site_cash_usd[0].p50[0], 'year 1 mine cash');
    const res = await fetch(base + 'api/runs/' + runId + '/export/results.csv');
    assert(res.headers.get('content-type').startsWith('text/csv'), 'CSV content type');
    const lines = (await res.text()).trim().split('\n');
    assert(lines.length === run.results.length + 1, 'results rows');
    assert(Number(lines[1].split(',')[1]) === run.results[0].npv.mean, 'mine mean in results.csv');
    // The Excel workbook: a zip with one sheet per table; the results sheet holds the API's means.
    const [xl] = await Promise.all([page.waitForEvent('download'), page.click('#xlsx')]);
    const book = readXlsx(readFileSync(await xl.path()));
    for (const sheet of ['results', 'decision', 'cashflow', 'bands', 'inputs']) assert(book[sheet], 'sheet ' + sheet + ' in ' + Object.keys(book));
    assert(book.results[0][0] === 'strategy' && book.results[1][0] === 'mine', 'results header and first row');
    assert(book.results[1][1] === run.results[0].npv.mean, `mine mean in the workbook ${book.results[1][1]}`);
    assert(book.cashflow.length === run.bands.years.length + 1, 'one cash-flow row per year');
    const ccol = book.cashflow[0].indexOf('mine_cash_usd_p50');
    assert(book.cashflow[1][ccol] === run.bands.site_cash_usd[0].p50[0], 'year 1 mine cash in the workbook');
  });

  await step('a server-side rejection stays visible (5,000,000 paths → 422)', async () => {
    expectedErrors.push(/^422 POST .*\/api\/runs$/);
    await page.goto(base);
    await page.waitForSelector('body[data-ready="/"]');
    await page.waitForSelector('#valid.status-ok');
    await page.fill('#f-run-paths', '5000000');
    await page.waitForSelector('#valid.status-ok');
    await page.click('#run');
    await page.waitForSelector('#valid.status-bad');
    // Longer than the editor's own re-check (250 ms after an input's change event).
    await page.waitForTimeout(1500);
    const status = await page.textContent('#valid');
    assert(/refused/.test(status), 'still shows the refusal: ' + status);
    const msg = await page.textContent('[data-err-for="run.paths"]');
    assert(/paths/.test(msg) && /200000/.test(msg.replace(/,/g, '')), 'message beside the field: ' + msg);
    assert(await page.isDisabled('#run'), 'run disabled while refused');
    // A local error on another field is shown together with it.
    await page.fill('#f-price-vol', '');
    await page.waitForFunction(() => /required/.test(document.querySelector('[data-err-for="price.vol"]').textContent));
    await page.screenshot({ path: join(shots, 'editor-refused-1400.png') });
    await page.fill('#f-price-vol', '0.5');
    await page.fill('#f-run-paths', '1000');
    await page.waitForSelector('#valid.status-ok');
  });

  const extra = [];
  await step('runs: names, a live list with key figures, compare, delete', async () => {
    // Two more runs from the API (one with a higher lease), named from the run page.
    const post = async (lease, paths) => {
      const sc = (await getJson(base + 'api/scenario/default')).body;
      sc.ai.lease_usd_per_kw_month = lease;
      const r = await fetch(base + 'api/runs', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ scenario: sc, paths, strategy: 'sweep' }) });
      return (await r.json()).id;
    };
    await page.goto(base + 'runs');
    await page.waitForSelector('body[data-ready="/runs"]');
    const a = await post(130, 3000);
    extra.push(a);
    // The list picks the new run up and follows it to done without a reload.
    await page.waitForSelector(`#runs-list tr[data-run="${a}"]`, { timeout: 10000 });
    await page.waitForSelector(`#runs-list tr[data-run="${a}"][data-status="done"]`, { timeout: 120000 });
    const b = await post(160, 1000);
    extra.push(b);
    await page.waitForSelector(`#runs-list tr[data-run="${b}"][data-status="done"]`, { timeout: 120000 });
    const fig = (await getJson(base + 'api/runs/overview')).body.find((r) => r.id === a).figures;
    const rowText = await page.textContent(`#runs-list tr[data-run="${a}"]`);
    assert(rowText.includes(fig.best), 'best strategy in the list: ' + rowText);
    // Name a run on its page.
    await page.click(`#runs-list a[href="/runs/${a}"]`);
    await page.waitForSelector('body[data-ready^="/runs/"]');
    await page.fill('#run-name', 'lease 130');
    await page.click('#save-name');
    await page.waitForFunction(() => document.getElementById('name-status').textContent === 'saved');
    await page.click('nav a[data-nav="runs"]');
    await page.waitForSelector(`#runs-list a[href="/runs/${a}"]:text("lease 130")`);
    await page.screenshot({ path: join(shots, 'runs-1400.png'), fullPage: true });
    // Compare the two.
    await page.check(`#runs-list input[data-select="${a}"]`);
    await page.check(`#runs-list input[data-select="${b}"]`);
    await page.click('#compare');
    await page.waitForSelector('body[data-ready="/runs/compare"]');
    const api = (await getJson(base + `api/compare?ids=${a},${b}`)).body;
    assert(await page.locator('#compare-table thead th[data-run]').count() === 2, 'two columns');
    for (const r of api.runs) {
      for (const s of r.strategies) {
        const m = await page.getAttribute(`#compare-chart circle[data-run="${r.id}"][data-strategy="${s.label}"]`, 'data-mean');
        assert(Number(m) === s.mean, `${r.id} ${s.label}: ${m} vs ${s.mean}`);
      }
    }
    assert(await page.locator('#compare-diff tr[data-key="ai.lease_usd_per_kw_month"]').count() === 1, 'the lease rate is listed as a difference');
    assert(await page.locator('#compare-diff tr[data-key="run.paths"]').count() === 1, 'paths differ too');
    await page.screenshot({ path: join(shots, 'compare-1400.png'), fullPage: true });
    // Delete the second one from the list.
    expectedErrors.push(new RegExp(`^404 GET .*/api/runs/${b}$`));
    await page.click('nav a[data-nav="runs"]');
    await page.waitForSelector(`#runs-list tr[data-run="${b}"]`);
    page.once('dialog', (dg) => dg.accept());
    await page.click(`#runs-list button[data-remove="${b}"]`);
    await page.waitForSelector(`#runs-list tr[data-run="${b}"]`, { state: 'detached' });
    assert((await getJson(base + 'api/runs/' + b)).status === 404, 'deleted run is gone');
  });

  await step('market panel, leases and machine payback pages show the API\'s figures', async () => {
    await page.goto(base);
    await page.waitForSelector('#market [data-market="hashprice"]');
    const m = (await getJson(base + 'api/market')).body;
    for (const [k, v] of [['hashprice', m.hashprice_usd_per_ph_day], ['difficulty', m.difficulty], ['retarget', m.next_retarget.height], ['halving', m.next_halving.height]]) {
      assert(Number(await page.getAttribute(`#market [data-market="${k}"]`, 'data-value')) === v, `market ${k}`);
    }
    assert(m.next_halving.height % 210000 === 0 && m.next_halving.height > m.height, 'next halving height');
    assert(m.next_retarget.height % 2016 === 0 && m.next_retarget.height > m.height, 'next retarget height');
    // The default scenario's hashprice is today's.
    assert((await page.textContent('#derived-hashprice')).includes(m.hashprice_usd_per_ph_day.toFixed(2)), 'editor hashprice = market hashprice');
    await page.click('nav a[data-nav="leases"]');
    await page.waitForSelector('body[data-ready="/leases"]');
    await page.waitForSelector('#chart-leases svg');
    // Opened after the editor: the rate box shows the scenario's rate, the rate the chart is for.
    const sc0 = (await getJson(base + 'api/scenario/default')).body;
    assert(Number(await page.inputValue('#lease-rate')) === sc0.ai.lease_usd_per_kw_month, 'rate box after the editor: ' + await page.inputValue('#lease-rate'));
    assert(await page.locator(`#chart-leases .hp-reference[data-value="${sc0.ai.lease_usd_per_kw_month}"]`).count() === 1, 'chart drawn at the box\'s rate');
    await page.fill('#lease-rate', '100');
    await page.waitForFunction(() => /^\$100\/kW-month is/.test(document.getElementById('lease-phrase').textContent));
    await page.waitForSelector('#chart-leases .hp-reference[data-value="100"]');
    const l = (await getJson(base + 'api/leases?rate=100')).body;
    assert((await page.textContent('#lease-phrase')).includes(l.phrase), 'phrase');
    assert(await page.locator('#leases-table tbody tr').count() === l.total, 'one row per deal');
    assert(await page.locator('#leases-table tbody tr.above').count() === l.deals_above, 'deals above marked');
    assert(await page.locator('#chart-leases .hp-bar').count() === l.total, 'one bar per deal');
    // Dispatch: the page's figures are the API's for the editor's scenario.
    await page.click('nav a[data-nav="dispatch"]');
    await page.waitForSelector('body[data-ready="/dispatch"]');
    await page.waitForSelector('#dp-table');
    const dp = await page.evaluate(() => fetch('/api/dispatch?prices=ercot%3AHB_WEST%3A2024&credit_usd_mwh=0&min_run_hours=1', {
      method: 'POST', headers: Object.assign({ 'Content-Type': 'application/json' }, sessionStorage.getItem('hp-csrf') ? { 'X-CSRF-Token': sessionStorage.getItem('hp-csrf') } : {}),
      body: sessionStorage.getItem('hp-dispatch-scenario') }).then((r) => r.json()));
    for (const [k, v] of [['uptime', dp.site.uptime], ['curtailed_mwh', dp.site.curtailed_mwh], ['margin', dp.site.margin_usd], ['flat_out_margin', dp.site.flat_out_margin_usd], ['hours', dp.hours]]) {
      assert(Number(await page.getAttribute(`#dp-table tr[data-dp="${k}"]`, 'data-value')) === v, `dispatch ${k} = API`);
    }
    assert(await page.locator('#dp-months tbody tr').count() === dp.months.length && dp.months.length === 12, 'one row per month');
    for (const c of ['duration', 'curtailment', 'savings']) await page.waitForSelector(`#chart-dp-${c} svg`);
    assert(await page.locator('#chart-dp-curtailment .hp-bar').count() === 12, 'curtailment bars by month');
    expectedErrors.push(/^422 (GET|POST) .*\/api\/dispatch/);
    await page.fill('#dp-minrun', '0');
    await page.click('#dp-run');
    await page.waitForSelector('#dp-error');
    assert(/min_run_hours/.test(await page.textContent('#dp-error')), 'dispatch error names the field');
    await page.click('nav a[data-nav="payback"]');
    await page.waitForSelector('body[data-ready="/payback"]');
    await page.fill('#pb-paths', '300');
    await page.click('#pb-run');
    await page.waitForSelector('#pb-table');
    const opt = await page.$eval('#pb-machine', (s) => s.options[s.selectedIndex].textContent);
    const machines = (await getJson(base + 'api/machines')).body;
    const mm = machines.find((x) => opt.startsWith(x.model + ' — '));
    assert(mm, 'machine ' + opt);
    const pb = (await getJson(base + `api/payback?hashrate_ths=${mm.hashrate_ths}&power_w=${mm.power_w}&price_usd_per_th=15&paths=300`)).body;
    assert(Number(await page.getAttribute('#pb-table tr[data-pb="npv"]', 'data-value')) === pb.npv_usd.mean, 'payback NPV = API');
    assert(Number(await page.getAttribute('#pb-table tr[data-pb="halving"]', 'data-value')) === pb.prob_payback_before_halving, 'P(before halving) = API');
    assert(pb.price_usd === mm.hashrate_ths * 15, 'price paid');
    // A bad price is refused with the field named, and stays on the page.
    expectedErrors.push(/^422 GET .*\/api\/payback/);
    await page.fill('#pb-price', '0');
    await page.click('#pb-run');
    await page.waitForSelector('#pb-error');
    assert(/price_usd_per_th/.test(await page.textContent('#pb-error')), 'payback error names the field');
  });

  await step('version-2 keys in the editor: [finance], [cloud] and ai.mode; the equity table and the IRR and DSCR charts carry the API\'s figures', async () => {
    await page.goto(base);
    await page.waitForSelector('body[data-ready="/"]');
    // An absent optional table is a box that adds it with the server's defaults (the embedded
    // default may already carry [finance]: then its fields are there).
    for (const t of ['finance', 'cloud']) {
      if (await page.locator('#add-table-' + t).count() > 0) {
        const defaults = (await getJson(base + 'api/scenario/optional')).body.tables[t];
        await page.click('#add-table-' + t);
        await page.waitForSelector('#remove-table-' + t);
        if (t === 'finance') {
          const ltc = Number(await page.inputValue('#f-finance-ltc'));
          assert(ltc === defaults.ltc, `added [finance] shows its default ltc: ${ltc} vs ${defaults.ltc}`);
        }
      }
    }
    await page.fill('#f-finance-ltc', '0.6');
    await page.fill('#f-finance-debt-rate', '0.075');
    await page.selectOption('#f-ai-mode', 'cloud');
    await page.fill('#f-cloud-utilization', '0.9');
    await page.selectOption('#f-strategy-kind', 'convert');
    await page.fill('#f-strategy-share', '0.5');
    await page.fill('#f-run-paths', '1000');
    // A value out of range is refused beside its field, like every other key.
    await page.fill('#f-finance-ltc', '1.5');
    await page.waitForFunction(() => /allowed/.test((document.querySelector('[data-err-for="finance.ltc"]') || {}).textContent || ''));
    assert(await page.isDisabled('#run'), 'run button disabled for finance.ltc = 1.5');
    await page.fill('#f-finance-ltc', '0.6');
    await page.waitForSelector('#valid.status-ok');
    await page.click('#run');
    await page.waitForURL(/\/runs\/[0-9a-f]+$/);
    const id = page.url().split('/').pop();
    extra.push(id);
    await page.waitForSelector('#equity-table', { timeout: 240000 });
    const run = (await getJson(base + 'api/runs/' + id)).body;
    assert(run.status === 'done', 'run done: ' + run.status);
    assert(run.scenario.finance.ltc === 0.6 && run.scenario.finance.debt_rate === 0.075, 'edited [finance] sent');
    assert(run.scenario.ai.mode === 'cloud' && run.scenario.cloud.utilization === 0.9, 'edited cloud keys sent');
    const levered = run.results.filter((r) => r.equity);
    assert(levered.length === run.results.length, 'every strategy has an equity view');
    for (const r of levered) {
      const label = r.strategy + (typeof r.share === 'number' && r.strategy !== 'mine' ? ' ' + Math.round(r.share * 100) + '%' : '');
      const row = page.locator(`#equity-table tr[data-strategy="${label}"]`);
      assert(await row.count() === 1, 'equity row for ' + label);
      for (const [field, value] of [['equity_npv', r.equity.equity_npv.mean], ['equity_p5', r.equity.equity_npv.p5],
        ['equity_irr_p50', r.equity.equity_irr.p50], ['dscr_p5', r.equity.dscr_min.p5], ['prob_breach', r.equity.dscr_min.prob_below_min]]) {
        const v = await row.locator(`td[data-field="${field}"]`).getAttribute('data-value');
        assert(v === String(value), `${label} ${field}: page ${v}, API ${value}`);
      }
    }
    // The converting strategy borrows: a DSCR and an equity IRR exist for it.
    const conv = levered.find((r) => r.strategy === 'convert');
    assert(conv && Number.isFinite(conv.equity.dscr_min.p5), 'convert has a DSCR');
    for (const name of ['irr', 'dscr']) {
      await page.waitForSelector(`#chart-${name} svg`);
      const marks = await page.locator(`#chart-${name} svg rect, #chart-${name} svg path`).count();
      assert(marks > 2, `${name} chart draws its data (${marks} marks)`);
    }
    await page.screenshot({ path: join(shots, 'run-equity-cloud.png'), fullPage: true });
  });

  await step('every page at 375 px: no horizontal page scroll, screenshots at 375 and 1400 px', async () => {
    const pages = [['editor', ''], ['run', 'runs/' + runId], ['runs', 'runs'], ['compare', `runs/compare?ids=${runId},${extra[0]}`], ['history', 'history'], ['leases', 'leases'], ['payback', 'payback'], ['dispatch', 'dispatch']];
    const small = await browser.newPage({ viewport: { width: 375, height: 812 } });
    small.on('pageerror', (e) => consoleErrors.push(String(e)));
    for (const [name, path] of pages) {
      await small.goto(base + path);
      await small.waitForSelector('body[data-ready]');
      if (name === 'run') await small.waitForSelector('#decision[data-ready]', { timeout: 400000 });
      if (name === 'history') await small.waitForSelector('#chart-price svg');
      if (name === 'leases') await small.waitForSelector('#chart-leases svg');
      if (name === 'payback') await small.waitForSelector('#pb-table');
      if (name === 'dispatch') await small.waitForSelector('#chart-dp-savings svg');
      await small.waitForTimeout(200);
      const [sw, cw] = await small.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      assert(sw <= cw, `${name}: page is ${sw} px wide at ${cw} px`);
      await small.screenshot({ path: join(shots, `${name}-375.png`), fullPage: true });
      if (name === 'editor') {
        // The main action is visible without scrolling far.
        const box = await small.locator('#run').boundingBox();
        assert(box.y < 812 * 1.5, 'Run button at y = ' + box.y);
      }
      if (name !== 'run' && name !== 'runs' && name !== 'compare') {
        await page.goto(base + path);
        await page.waitForSelector('body[data-ready]');
        if (name === 'history') await page.waitForSelector('#chart-price svg');
        if (name === 'leases') await page.waitForSelector('#chart-leases svg');
        if (name === 'payback') await page.waitForSelector('#pb-table');
        if (name === 'dispatch') await page.waitForSelector('#chart-dp-savings svg');
        await page.setViewportSize({ width: 1400, height: 900 });
        await page.screenshot({ path: join(shots, `${name}-1400.png`), fullPage: true });
      }
    }
    await small.close();
  });

  await step('with --token the page asks once and keeps the token where scripts cannot read it', async () => {
    const token = 'e2e-token-' + Math.random().toString(36).slice(2) + '-0123456789';
    const dir2 = mkdtempSync(join(tmpdir(), 'hashpivot-e2e-token-'));
    const guarded = await startServer(dir2, ['--token', token]);
    try {
      const context = await browser.newContext();
      const p2 = await context.newPage();
      let asked = 0;
      p2.on('dialog', (d) => { asked += 1; d.accept(token); });
      await p2.goto(guarded.url);
      await p2.waitForSelector('body[data-ready="/"]');
      await p2.waitForSelector('#valid.status-ok');
      assert(Number(await p2.inputValue('#f-price-spot')) > 0, 'the scenario loaded');
      assert(asked >= 1, 'the page asked for the token');
      const cookies = await context.cookies();
      const c = cookies.find((x) => x.name === 'hashpivot_session');
      assert(c && c.httpOnly && c.sameSite === 'Strict', 'HttpOnly SameSite=Strict cookie: ' + JSON.stringify(cookies));
      const seen = await p2.evaluate(() => document.cookie);
      assert(!seen.includes('hashpivot_session'), 'document.cookie shows the session: ' + seen);
      // A state-changing request from the page carries the CSRF header and is accepted: a run.
      await p2.fill('#f-run-paths', '200');
      await p2.waitForSelector('#valid.status-ok');
      await p2.click('#run');
      await p2.waitForURL(/\/runs\/[0-9a-f]+$/);
      const rid = p2.url().split('/').pop();
      // Without the header the same cookie cannot change anything (403).
      const refused = await p2.evaluate((u) => fetch(u, { method: 'DELETE' }).then((r) => r.status), guarded.url + 'api/runs/' + rid);
      assert(refused === 403, 'DELETE without X-CSRF-Token: ' + refused);
      // The history page's charts (plain requests, no headers) are served with the cookie.
      await p2.click('nav a[data-nav="history"]');
      await p2.waitForSelector('body[data-ready="/history"]');
      await p2.waitForSelector('#chart-price svg');
      await context.close();
    } finally {
      guarded.child.kill('SIGTERM');
      rmSync(dir2, { recursive: true, force: true });
    }
  });

  await step('no console errors and no request left the machine', async () => {
    assert(consoleErrors.length === 0, 'console errors: ' + consoleErrors.join('\n'));
    assert(external.length === 0, 'external requests: ' + external.join(', '));
  });
} catch (e) {
  if (failed === 0) {
    failed += 1;
    console.log('FAIL setup: ' + (e && e.stack ? e.stack : e));
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) server.child.kill('SIGTERM');
  rmSync(dbDir, { recursive: true, force: true });
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
