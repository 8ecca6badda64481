// Headless Debian Chromium through playwright-core, one fresh profile per session.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { REPO } from './stack.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const SCREENSHOTS = path.join(REPO, 'target/screenshots/e2e');

export class Browser {
  static async open() {
    const b = new Browser();
    b.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'otp-e2e-chromium-'));
    b.context = await chromium.launchPersistentContext(b.profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1100, height: 800 },
      locale: 'en-US',
    });
    b.context.setDefaultTimeout(30_000);
    b.context.setDefaultNavigationTimeout(30_000);
    b.page = b.context.pages()[0] ?? await b.context.newPage();
    // Browser-side errors (CSP violations, failed loads) explain a navigation that never happens.
    b.consoleErrors = [];
    b.page.on('console', (m) => { if (m.type() === 'error') b.consoleErrors.push(m.text()); });
    return b;
  }

  async close() {
    await this.context?.close().catch(() => {});
    fs.rmSync(this.profile, { recursive: true, force: true });
  }

  /** Waits until the browser shows a URL matching `predicate`; failing, says what it shows and why. */
  async waitForUrl(predicate, what, timeout = 30_000) {
    try {
      await this.page.waitForURL(predicate, { timeout });
    } catch (e) {
      await this.page.waitForTimeout(1_000); // console messages trail the failed navigation
      const errors = this.consoleErrors.slice(-5).map((t) => `  console: ${t}`).join('\n');
      throw new Error(`${what}: the browser stays on ${this.page.url()} (${e.message.split('\n')[0]})\n${errors}`);
    }
  }

  /** Saves what the user sees now as target/screenshots/e2e/<name>.png. */
  async shot(name, page = this.page) {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }
}

/** Text of the page, for assertions about what the user reads. */
export async function pageText(page) {
  return (await page.locator('body').innerText()).trim();
}

const STACK_TRACE = /(Exception|Error)\b.*\n\s*at [\w$.]+\(|\bat (org|java|io|jdk|sun)\.[\w$.]+\(|java\.lang\.|NullPointerException|Internal Server Error|panicked at/;

/** Fails when the page shows a stack trace or a bare server error. */
export async function assertNoStackTrace(page) {
  const text = await pageText(page);
  const html = await page.content();
  if (STACK_TRACE.test(text) || STACK_TRACE.test(html)) {
    throw new Error(`page ${page.url()} shows a stack trace or raw server error:\n${text.slice(0, 1500)}`);
  }
  return text;
}
