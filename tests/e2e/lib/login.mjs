// The browser steps of a login with the emailed code, shared by the E2E test and the
// realm-server stage (a login through the realm keycloak-config-cli made).
import crypto from 'node:crypto';
import { authorizationUrl } from './keycloak.mjs';

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
