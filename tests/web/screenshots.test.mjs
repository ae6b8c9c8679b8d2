// Screenshots of the main pages on a desktop and on a phone-sized screen,
// written to STAYMESH_WEB_ARTIFACTS for people to look at.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ARTIFACTS, DESKTOP, PHONE, Recorder, launch } from './kit.mjs';
import { openAs, setUpPages, visit } from './pages.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('screenshots of the main pages, desktop and phone', async () => {
  const rec = new Recorder();
  const { pages, cleanup } = await setUpPages(rec);
  try {
    for (const [size, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
      const session = await openAs(browser, rec, { viewport, deviceScaleFactor: 1 });
      try {
        for (const p of pages) {
          const page = session.pages[p.as];
          await visit(page, p);
          const path = `${ARTIFACTS}/${p.name}-${size}.png`;
          await page.screenshot({ path, fullPage: true });
          assert.ok(statSync(path).size > 1000, `${path} written`);
        }
      } finally {
        await session.close();
      }
    }
  } finally {
    await cleanup();
  }
  rec.assertClean();
});
