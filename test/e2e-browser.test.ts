/**
 * The HTML reports in a real browser: Debian's Chromium driven by playwright-core opens the
 * report `robustest bench --html` writes and the one `robustest/reporter` writes for a run, and
 * checks that nothing logs an error, that the tables hold the run's numbers, and that the charts
 * and counterexample images render (decoded, not blank). Screenshots are kept under
 * test-results/ as artifacts. Skipped, with a notice, only where /usr/bin/chromium is absent.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureBackend, evaluate, fgsm, transforms } from '../src/index.js';
import { main } from '../src/cli/main.js';
import type { BenchResult } from '../src/cli/result.js';
import { robustestMatchers } from '../matchers/index.js';
import { registerMatchers } from '../matchers/register.js';
import { configureRobustest } from '../matchers/config.js';
import { RobustnessReporter } from '../matchers/reporter.js';
import type { AssertionRecord } from '../src/report/table.js';
import { stripes, stripeSamples } from './fixtures/projects/stripes-model.js';

const CHROMIUM = '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) console.warn(`test/e2e-browser.test.ts: ${CHROMIUM} is absent (apt-get install chromium); the browser checks of the HTML reports are skipped.`);

const ARTIFACTS = resolve(process.env.ROBUSTEST_ARTIFACTS ?? 'test-results');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

let dir: string;
let context: BrowserContext;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'robustest-browser-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  if (!present) return;
  // A fresh profile per run: nothing cached or remembered from earlier runs.
  context = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1100, height: 900 } });
});

afterAll(async () => {
  await context?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a report, collecting console errors and uncaught page errors. */
async function open(file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(pathToFileURL(file).href);
  await page.waitForLoadState('load');
  return { page, errors };
}

/** An element as the browser painted it: its screenshot decoded, and how many distinct colours it has. */
async function paintedColours(element: Locator): Promise<number> {
  const png = PNG.sync.read(await element.screenshot());
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) colours.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
  return colours.size;
}

async function expectImagesDecoded(page: Page, selector: string, atLeast: number): Promise<void> {
  const images = page.locator(selector);
  expect(await images.count()).toBeGreaterThanOrEqual(atLeast);
  const sizes = await images.evaluateAll((list) =>
    Promise.all(
      // Runs in the page; the project's types have no DOM library, so the image is typed by hand.
      (list as unknown as { decode(): Promise<void>; naturalWidth: number; naturalHeight: number; getBoundingClientRect(): { width: number } }[]).map(async (img) => {
        await img.decode();
        return [img.naturalWidth, img.naturalHeight, img.getBoundingClientRect().width];
      }),
    ),
  );
  for (const [w, h, shown] of sizes) {
    expect(w).toBeGreaterThan(0);
    expect(h).toBeGreaterThan(0);
    expect(shown).toBeGreaterThan(0);
  }
  // The original panel of a digit is not blank.
  expect(await paintedColours(images.first())).toBeGreaterThan(2);
}

describe.skipIf(!present)('the HTML reports in Chromium', () => {
  test('robustest bench --html: tables hold the run’s numbers, chart and gallery render, no console errors', async () => {
    const html = join(dir, 'bench.html');
    const jsonFile = join(dir, 'bench.json');
    const r = await main(['bench', 'examples/mnist/models/cnn/model.json', '--data', 'mnist', '--n', '20', '--attacks', 'fgsm,pgd', '--eps', '0.05,0.1', '--html', html, '--json', jsonFile, '--no-progress'], { out: () => {}, err: () => {}, live: false });
    expect(r).toBe(0);
    const result = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchResult;
    const { page, errors } = await open(html);
    for (const [k, attack] of result.attacks.entries()) {
      for (const [i, e] of result.epsilons.entries()) {
        const cell = page.locator(`td[data-series="${attack.name}"][data-epsilon="${e}"]`);
        expect(await cell.innerText(), `${attack.name} at ${e}`).toBe(result.attacks[k]!.robustAccuracy[i]!.toFixed(3));
      }
    }
    for (const [i, e] of result.epsilons.entries()) {
      expect(await page.locator(`td[data-series="worst case"][data-epsilon="${e}"]`).innerText()).toBe(result.worstCase.robustAccuracy[i]!.toFixed(3));
    }
    expect(await page.locator('td[data-key="seed"]').innerText()).toBe('0');
    const chart = page.locator('figure.chart svg');
    expect(await chart.count()).toBe(1);
    const box = await chart.boundingBox();
    expect(box!.width).toBeGreaterThan(100);
    // Three curves (two attacks and the worst case), each a drawn line.
    expect(await page.locator('figure.chart svg path[aria-roledescription="line mark"]').count()).toBe(3);
    expect(await paintedColours(chart)).toBeGreaterThan(3);
    await expectImagesDecoded(page, '.gallery img', 3 * Math.min(8, result.counterexamples.length));
    expect(result.counterexamples.length).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'robustest-bench-report.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  test('robustest/reporter outputFile: one section per assertion, passing and .not ones too', async () => {
    await ensureBackend();
    configureRobustest({ pictures: false });
    const records: AssertionRecord[] = [];
    registerMatchers(expect, robustestMatchers, { onResult: (_ctx, result) => void (result.meta?.robustest && records.push(result.meta.robustest.record)) });
    const on = stripeSamples();
    const e = expect as unknown as (v: unknown) => Record<string, (...a: unknown[]) => Promise<void> | void> & { not: Record<string, (...a: unknown[]) => Promise<void> | void> };
    await e(stripes).toBeRobustAgainst(fgsm(), 0.02, { on, atLeast: 0.8 });
    await e(stripes).not.toBeRobustAgainst(fgsm(), 0.2, { on, atLeast: 0.8 });
    const report = await evaluate(stripes, on, { attack: fgsm(), epsilons: [0.02, 0.1, 0.2] });
    e(report).toHaveRobustAccuracy({ atLeast: 0.5, at: 0.02 });
    await e(stripes).not.toBeInvariantUnder(transforms.translate(4, 0), { on });
    expect(records).toHaveLength(4);

    const html = join(dir, 'run.html');
    const logged: string[] = [];
    const reporter = new RobustnessReporter({ outputFile: html });
    reporter.onInit({ logger: { log: (t: unknown) => logged.push(String(t)) }, config: { root: dir } });
    await reporter.onTestRunEnd([{ moduleId: join(dir, 'stripes.test.ts'), children: { allTests: () => [{ meta: () => ({ robustest: records }) }] } }]);
    expect(logged.join('\n')).toContain(`HTML report written to ${html}`);

    const { page, errors } = await open(html);
    const sections = page.locator('main section');
    expect(await sections.count()).toBe(4);
    expect(await page.locator('section[data-verdict="pass"]').count()).toBe(4);
    expect(await page.locator('.summary').innerText()).toBe('4 robustness assertions: 4 held, 0 failed.');
    // The .not assertion at ε 0.2 shows its counterexamples although it passed.
    const broken = sections.nth(1);
    expect(await broken.locator('td[data-epsilon="0.2"]').first().innerText()).toBe(records[1]!.robustAccuracy.toFixed(3));
    expect(await broken.locator('.gallery figure').count()).toBe(records[1]!.gallery!.length);
    await expectImagesDecoded(page, 'section:nth-of-type(2) .gallery img', 3);
    // The curve of a report-matcher assertion has all three ε.
    expect(await sections.nth(2).locator('tbody tr').count()).toBe(4);
    expect(await sections.nth(2).locator('figure.chart svg').count()).toBe(1);
    // Invariance: the kept-class share, and the inputs that changed class.
    expect(await sections.nth(3).locator('td[data-measured]').innerText()).toBe(records[3]!.robustAccuracy.toFixed(3));
    expect(await sections.nth(3).locator('caption, th').allInnerTexts()).toContain('kept class');
    await page.screenshot({ path: join(ARTIFACTS, 'robustest-run-report.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
