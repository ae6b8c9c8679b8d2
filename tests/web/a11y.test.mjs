// axe-core on the main pages: no serious or critical violations. The page's
// Content-Security-Policy forbids injected scripts, so only this test's
// contexts bypass it to load axe.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { DESKTOP, PHONE, Recorder, launch } from './kit.mjs';
import { openAs, setUpPages, visit } from './pages.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('no serious or critical axe violations on the main pages', async () => {
  const rec = new Recorder();
  const { pages, cleanup } = await setUpPages(rec);
  const problems = [];
  try {
    for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      const session = await openAs(browser, rec, { viewport, bypassCSP: true });
      try {
        for (const p of pages) {
          const page = session.pages[p.as];
          await visit(page, p);
          await page.addScriptTag({ content: AXE });
          const result = await page.evaluate(() =>
            window.axe.run(document, { resultTypes: ['violations'], runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } }),
          );
          for (const v of result.violations) {
            if (v.impact === 'serious' || v.impact === 'critical') {
              problems.push(`${p.name} (${size}): ${v.id} [${v.impact}] ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
            }
          }
        }
      } finally {
        await session.close();
      }
    }
  } finally {
    await cleanup();
  }
  assert.deepEqual(problems, []);
  rec.assertClean();
});
