// The browser steps of a login with the emailed code, shared by the E2E test and the
// realm-server stage (a login through the realm keycloak-config-cli made).
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { authorizationUrl } from './keycloak.mjs';
import { pageText } from './browser.mjs';

export const ALICE = { username: 'alice', password: 'alice-password', email: 'alice@example.com' };

const random = () => crypto.randomBytes(16).toString('base64url');

/** Opens the client's authorization request in the browser; returns the state and nonce used. */
export async function startLogin(env, b, extra = {}) {
  const flow = { state: random(), nonce: random() };
  await b.page.goto(authorizationUrl(env, flow, extra));
  return flow;
}

/**
 * Username and password on Keycloak's login form; returns the state and nonce used.
 * `extra`: more authorization parameters (another client_id, acr_values).
 */
export async function passwordStep(env, b, shotPrefix, user = ALICE, extra = {}) {
  const flow = await startLogin(env, b, extra);
  await b.page.locator('#username').fill(user.username);
  await b.page.locator('#password').fill(user.password);
  if (shotPrefix) await b.shot(`${shotPrefix}-keycloak-login`);
  await b.page.locator('#kc-login').click();
  return flow;
}

export async function waitForCodePage(env, page) {
  const sidecarOrigin = new URL(env.SIDECAR_URL).origin;
  await page.waitForURL((u) => u.origin === sidecarOrigin, { timeout: 30_000 });
  await page.locator('input[name="code"]').waitFor({ state: 'visible' });
}

/** Types a code into the sidecar's code page and submits it. */
export async function submitCode(page, code) {
  const input = page.locator('input[name="code"]');
  await input.fill(code);
  await Promise.all([page.waitForEvent('load'), input.press('Enter')]);
}

/** Password step, code page, the mail that brings the code (`mail`: a MailSink). */
export async function untilMailArrives(env, mail, b, shotPrefix, user = ALICE, extra = {}) {
  const seen = (await mail.messagesTo(user.email)).length;
  const flow = await passwordStep(env, b, shotPrefix, user, extra);
  await waitForCodePage(env, b.page);
  const message = await mail.waitForMessage(user.email, seen);
  if (shotPrefix) await b.shot(`${shotPrefix}-sidecar-code-page`);
  return { flow, message, seen };
}

/** A different code of the same length: every digit shifted by one. */
export const wrongCode = (code) => code.replace(/[0-9]/g, (d) => String((Number(d) + 1) % 10));

/** How many attempts a challenge allows: what the realm's otp-sidecar step asks the sidecar for. */
export async function maxAttempts(admin, flowAlias) {
  const n = Number((await admin.sidecarConfig(flowAlias)).config['otp.max.attempts']);
  assert.ok(Number.isInteger(n) && n > 0, `otp.max.attempts of the realm's step: ${n}`);
  return n;
}

/**
 * On the code page: `max` wrong codes, each but the last answered on the code page with one
 * attempt less left; the `max`-th ends the challenge and the browser lands on Keycloak.
 * `afterWrong(attempt)`: called on the code page after each wrong code but the last.
 */
export async function wrongCodesUntilLocked(env, b, code, max, afterWrong = async () => {}) {
  const sidecarOrigin = new URL(env.SIDECAR_URL).origin;
  const kcOrigin = new URL(env.KEYCLOAK_URL).origin;
  const wrong = wrongCode(code);
  for (let attempt = 1; attempt < max; attempt++) {
    await submitCode(b.page, wrong);
    await b.page.locator('input[name="code"]').waitFor({ state: 'visible' });
    assert.ok(b.page.url().startsWith(`${sidecarOrigin}/`), `after wrong code ${attempt} of ${max} the browser shows ${b.page.url()}`);
    const left = (await pageText(b.page)).match(/(\d+) attempts? left/)?.[1];
    assert.equal(Number(left), max - attempt, `attempts left after wrong code ${attempt} of ${max}`);
    await afterWrong(attempt);
  }
  await submitCode(b.page, wrong);
  await b.page.waitForURL((u) => u.origin === kcOrigin, { timeout: 30_000 });
}
