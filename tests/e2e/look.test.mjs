// One product, two servers: Keycloak's login page and the sidecar's code page, photographed
// side by side at 1280 and 375 px wide (one PNG per width, composed by Chromium from the two
// screenshots), against the stack started by scripts/stack.sh. The code page must carry the
// realm's display name that Keycloak shows, name the client by its name, and fit a phone's
// width without sideways scrolling.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { Browser, SCREENSHOTS } from './lib/browser.mjs';
import { MailSink } from './lib/mail.mjs';
import { waitForCodePage } from './lib/login.mjs';
import { authorizationUrl, KeycloakAdmin } from './lib/keycloak.mjs';
import { stackEnv } from './lib/stack.mjs';

const CASE_TIMEOUT = 240_000;
const env = stackEnv();
const mail = new MailSink(env.MAIL_API_URL);
const admin = new KeycloakAdmin(env);
// A user of its own: the other cases spend alice's mail budget (per address and window).
const USER = { username: 'look', password: 'look-password-1', email: 'look@example.com' };

/** Creates USER in the realm unless it exists (a verified address, a password). */
async function ensureUser() {
  const headers = { authorization: `Bearer ${await admin.token()}`, 'content-type': 'application/json' };
  const base = `${env.KEYCLOAK_URL}/admin/realms/${admin.realm}`;
  const found = await (await fetch(`${base}/users?username=${USER.username}&exact=true`, { headers })).json();
  if (found.length > 0) return;
  const res = await fetch(`${base}/users`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      username: USER.username, email: USER.email, emailVerified: true, enabled: true,
      firstName: 'Lena', lastName: 'Look',
      credentials: [{ type: 'password', value: USER.password, temporary: false }],
    }),
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(res.status, 201, `creating user ${USER.username}: ${res.status} ${await res.text()}`);
}

before(ensureUser);

/** A screenshot of what `page` shows, as a data: URL. */
async function snapshot(page) {
  await page.waitForLoadState('networkidle');
  const png = await page.screenshot({ fullPage: false });
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** Both screenshots side by side in one PNG, rendered by the same Chromium. */
async function sideBySide(b, width, left, right, file) {
  const page = await b.context.newPage();
  try {
    await page.setViewportSize({ width: 2 * width + 48, height: 600 });
    await page.setContent(`<!doctype html><html lang="en"><meta charset="utf-8">
      <title>Keycloak and otp-sidecar at ${width} px</title>
      <style>
        body { margin: 0; padding: 16px; background: #fff; font: 14px sans-serif; display: flex; gap: 16px; }
        figure { margin: 0; width: ${width}px; } img { width: ${width}px; display: block; border: 1px solid #999; }
        figcaption { padding: 0 0 6px; }
      </style>
      <figure><figcaption>Keycloak: login page</figcaption><img src="${left}" alt="Keycloak's login page"></figure>
      <figure><figcaption>otp-sidecar: code page</figcaption><img src="${right}" alt="The sidecar's code page"></figure>`);
    await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: true });
  } finally {
    await page.close();
  }
}

describe('the code page looks like the Keycloak page before it', { concurrency: 1 }, () => {
  for (const width of [1280, 375]) {
    test(`Keycloak's login page and the code page side by side at ${width} px`, { timeout: CASE_TIMEOUT }, async (t) => {
      const b = await Browser.open();
      try {
        await b.page.setViewportSize({ width, height: width > 600 ? 800 : 760 });
        const seen = (await mail.messagesTo(USER.email)).length;
        await b.page.goto(authorizationUrl(env, { state: `look-${width}`, nonce: `look-nonce-${width}` }));
        await b.page.locator('#username').waitFor({ state: 'visible' });
        const realmOnKeycloak = (await b.page.locator('#kc-header-wrapper').textContent()).trim();
        const keycloak = await snapshot(b.page);
        await b.page.locator('#username').fill(USER.username);
        await b.page.locator('#password').fill(USER.password);
        await b.page.locator('#kc-login').click();
        await waitForCodePage(env, b.page);
        await mail.waitForMessage(USER.email, seen);
        const ours = await snapshot(b.page);

        const file = path.join(SCREENSHOTS, `look-keycloak-and-code-page-${width}.png`);
        await sideBySide(b, width, keycloak, ours, file);
        t.diagnostic(`side by side: ${file}`);
        console.log(`look: ${file}`);

        // The same realm name heads both pages; the client is named by its name.
        const realmOnOurs = (await b.page.locator('.brand-name').textContent()).trim();
        assert.ok(realmOnKeycloak.length > 0, 'Keycloak shows the realm name');
        assert.equal(realmOnOurs.toLowerCase(), realmOnKeycloak.toLowerCase(),
          'the code page is headed by the realm name Keycloak shows');
        // demo-app is called "Demo App" in the realm (keycloak-flow/realm/acme-realm.yaml).
        const subtitle = (await b.page.locator('h1 .subtitle').textContent()).trim();
        assert.ok(subtitle.includes('Demo App') && !subtitle.includes(env.DEMO_CLIENT_ID),
          `the client is named by its name, not its id: "${subtitle}"`);

        // A phone's width needs no sideways scrolling.
        const { scroll, inner } = await b.page.evaluate(() => ({
          scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        }));
        assert.ok(scroll <= inner, `the code page is ${scroll} px wide on a ${inner} px screen`);
        // Styled like the product: the card with its coloured top line.
        const border = await b.page.locator('main.card').evaluate((el) => getComputedStyle(el).borderTopWidth);
        assert.equal(border, '4px');
      } finally {
        await b.close();
      }
    });
  }
});
