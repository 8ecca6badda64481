// End to end: what a passed email-code step shows in Keycloak's tokens (acr, amr), step-up with
// acr_values, exact brute-force counting through the level flow, and "remember this browser",
// against the stack started by scripts/stack.sh (real Keycloak, sidecar, SMTP sink, Chromium).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertNoStackTrace, Browser } from './lib/browser.mjs';
import { CallbackServer } from './lib/client.mjs';
import {
  decodeJwtPayload, exchangeCode, KeycloakAdmin, verifyIdToken, wrongPassword,
} from './lib/keycloak.mjs';
import { codeFrom, MailSink } from './lib/mail.mjs';
import { stackEnv } from './lib/stack.mjs';
import {
  ALICE, maxAttempts, passwordStep, startLogin, submitCode, untilMailArrives, waitForCodePage,
  wrongCodesUntilLocked as wrongCodesUntilLockedOn,
} from './lib/login.mjs';

const CASE_TIMEOUT = 300_000;
const STEPUP = { client_id: 'stepup-app', secret: 'stepup-app-secret' };
const LEVEL_2 = 'email-otp';
const REMEMBER_COOKIE = 'OTP_SIDECAR_REMEMBER';
const BOB = { username: 'bob', password: 'bob-password', email: 'bob@example.com' };

const env = stackEnv();
const kcOrigin = new URL(env.KEYCLOAK_URL).origin;
const sidecarOrigin = new URL(env.SIDECAR_URL).origin;
const mail = new MailSink(env.MAIL_API_URL);
const admin = new KeycloakAdmin(env);
const callback = new CallbackServer(env.DEMO_REDIRECT_URI);
let alice;

const onOrigin = (page, origin) => page.url().startsWith(`${origin}/`);

/** Records every request of the browser to the sidecar, and the request JWTs posted there. */
function watchSidecar(b) {
  const seen = { urls: [], requests: [] };
  b.page.on('request', (req) => {
    if (!req.url().startsWith(`${sidecarOrigin}/`)) return;
    seen.urls.push(req.url());
    const body = req.method() === 'POST' ? new URLSearchParams(req.postData() ?? '') : null;
    if (body?.has('request')) seen.requests.push(decodeJwtPayload(body.get('request')));
  });
  return seen;
}

/** Waits for the client's callback and exchanges its code; returns the verified ID token's claims and the tokens. */
async function tokensAtClient(b, callbacksBefore, client = { client_id: env.DEMO_CLIENT_ID, secret: env.DEMO_CLIENT_SECRET ?? 'demo-app-secret' }) {
  await b.waitForUrl((u) => u.href.startsWith(env.DEMO_REDIRECT_URI), 'back at the client');
  const arrived = callback.since(callbacksBefore);
  assert.equal(arrived.length, 1, 'exactly one callback to the client');
  const code = arrived[0].searchParams.get('code');
  assert.ok(code, `callback carries an authorization code: ${arrived[0]}`);
  const tokens = await exchangeCode(env, code, client.secret, client.client_id);
  const id = await verifyIdToken(env, tokens.id_token);
  assert.equal(id.sub, alice.id);
  return { id, access: decodeJwtPayload(tokens.access_token) };
}

/** On the code page: exactly `max` wrong codes lock the challenge, and Keycloak shows its page. */
async function wrongCodesUntilLocked(b, code, max) {
  await wrongCodesUntilLockedOn(env, b, code, max);
  const text = await assertNoStackTrace(b.page);
  assert.match(text, /too many wrong codes/i, 'Keycloak says why');
}

/** Drops the browser's Keycloak session cookies (a new login is needed), keeping the remember cookie. */
async function forgetSession(b) {
  const keep = (await b.context.cookies()).filter((c) => c.name === REMEMBER_COOKIE);
  await b.context.clearCookies();
  if (keep.length) await b.context.addCookies(keep);
}

async function rememberCookie(b) {
  return (await b.context.cookies(`${env.KEYCLOAK_ISSUER}/`)).find((c) => c.name === REMEMBER_COOKIE);
}

/** A second login in `b`: does it reach the client without the code page? */
async function loginSkipsCode(b, user = ALICE) {
  const sidecar = watchSidecar(b);
  const before = callback.requests.length;
  await passwordStep(env, b, undefined, user);
  await b.page.waitForURL((u) => u.href.startsWith(env.DEMO_REDIRECT_URI) || u.origin === sidecarOrigin,
    { timeout: 30_000 });
  if (onOrigin(b.page, sidecarOrigin)) {
    await waitForCodePage(env, b.page);
    return { skipped: false, sidecar };
  }
  assert.deepEqual(sidecar.urls, [], 'the browser was not sent to the sidecar');
  return { skipped: true, sidecar, ...(await tokensAtClient(b, before)) };
}

before(async () => {
  await callback.start();
  alice = await admin.userByUsername(ALICE.username);
  await admin.clearBruteForce(alice.id);
});

after(async () => {
  await callback.stop();
});

describe('tokens show the email code; step-up; brute force; remember this browser', { concurrency: 1 }, () => {
  test('demo-app: the ID token says acr email-otp and amr pwd + otp; the request names realm and client', { timeout: CASE_TIMEOUT }, async (t) => {
    const b = await Browser.open();
    try {
      const sidecar = watchSidecar(b);
      const { message } = await untilMailArrives(env, mail, b, '10-claims');
      const before = callback.requests.length;
      await submitCode(b.page, codeFrom(message));
      const { id, access } = await tokensAtClient(b, before);
      t.diagnostic(`demo-app ID token: ${JSON.stringify({ acr: id.acr, amr: id.amr })}`);
      assert.equal(id.acr, LEVEL_2, 'acr is the email-code level');
      assert.deepEqual([...id.amr].sort(), ['otp', 'pwd'], 'amr names password and one-time code');
      assert.deepEqual([...access.amr].sort(), ['otp', 'pwd'], 'the access token too');
      assert.equal(access.acr, LEVEL_2);

      assert.equal(sidecar.requests.length, 1, 'one request JWT went to the sidecar');
      assert.equal(sidecar.requests[0].realm_display_name, 'Acme');
      assert.equal(sidecar.requests[0].client_name, 'Demo App');
      assert.equal(sidecar.requests[0].azp, 'demo-app');
    } finally {
      await b.close();
    }
  });

  test('step-up: password only gives acr password; acr_values=email-otp goes through the code page to acr email-otp', { timeout: CASE_TIMEOUT }, async (t) => {
    const b = await Browser.open();
    try {
      const sidecar = watchSidecar(b);
      let before = callback.requests.length;
      await passwordStep(env, b, '11-stepup', ALICE, { client_id: STEPUP.client_id });
      const low = await tokensAtClient(b, before, STEPUP);
      t.diagnostic(`stepup-app, no acr_values: ${JSON.stringify({ acr: low.id.acr, amr: low.id.amr })}`);
      assert.equal(low.id.acr, 'password');
      assert.deepEqual(low.id.amr, ['pwd'], 'no email code was used');
      assert.deepEqual(sidecar.urls, [], 'level 1 does not visit the sidecar');

      // The same browser asks for level 2: Keycloak's session knows alice, only the code is asked.
      const seen = (await mail.messagesTo(ALICE.email)).length;
      before = callback.requests.length;
      await startLogin(env, b, { client_id: STEPUP.client_id, acr_values: LEVEL_2 });
      await waitForCodePage(env, b.page);
      await b.shot('11-stepup-code-page');
      const message = await mail.waitForMessage(ALICE.email, seen);
      await submitCode(b.page, codeFrom(message));
      const high = await tokensAtClient(b, before, STEPUP);
      t.diagnostic(`stepup-app, acr_values=${LEVEL_2}: ${JSON.stringify({ acr: high.id.acr, amr: high.id.amr })}`);
      assert.equal(high.id.acr, LEVEL_2);
      assert.deepEqual([...high.id.amr].sort(), ['otp', 'pwd']);
      assert.equal(sidecar.requests.at(-1).client_name, 'Step-up App');
    } finally {
      await b.close();
    }
  });

  test('wrong codes in the step-up flow count exactly once per locked challenge', { timeout: CASE_TIMEOUT }, async (t) => {
    const b = await Browser.open();
    try {
      const max = await maxAttempts(admin);
      const failuresBefore = (await admin.bruteForceStatus(alice.id)).numFailures ?? 0;
      const before = callback.requests.length;
      const { message } = await untilMailArrives(env, mail, b, undefined, ALICE,
        { client_id: STEPUP.client_id, acr_values: LEVEL_2 });
      await wrongCodesUntilLocked(b, codeFrom(message), max);

      // A new challenge, locked again: two counted failures in all.
      const seen = (await mail.messagesTo(ALICE.email)).length;
      await b.page.getByRole('button', { name: /send a new code/i }).click();
      await waitForCodePage(env, b.page);
      await wrongCodesUntilLocked(b, codeFrom(await mail.waitForMessage(ALICE.email, seen)), max);
      assert.equal(callback.since(before).length, 0, 'no callback to the client');

      const expected = failuresBefore + 2;
      const reached = await admin.failuresReach(alice.id, expected);
      t.diagnostic(`brute-force numFailures for alice: ${failuresBefore} -> ${reached}`);
      assert.equal(reached, expected, 'each locked challenge counts once, nothing more');
      // Nothing trails in later: a failure caused after both is the only one more.
      await wrongPassword(env, ALICE.username);
      assert.equal(await admin.failuresReach(alice.id, expected + 1), expected + 1);
    } finally {
      await b.close();
      await admin.clearBruteForce(alice.id);
    }
  });

  test('remember this browser is off in the shipped realm: a second login asks for the code', { timeout: CASE_TIMEOUT }, async () => {
    const config = await admin.sidecarConfig();
    assert.equal(config.config['otp.remember.days'] ?? '0', '0');
    const b = await Browser.open();
    try {
      const { message } = await untilMailArrives(env, mail, b);
      const before = callback.requests.length;
      await submitCode(b.page, codeFrom(message));
      await tokensAtClient(b, before);
      assert.equal(await rememberCookie(b), undefined, 'no remember cookie was set');
      await forgetSession(b);
      assert.equal((await loginSkipsCode(b)).skipped, false);
    } finally {
      await b.close();
    }
  });

  describe('with remember this browser on (7 days)', { concurrency: 1 }, () => {
    let original;
    let bob;

    before(async () => {
      original = await admin.sidecarConfig();
      await admin.updateConfig({ ...original, config: { ...original.config, 'otp.remember.days': '7' } });
      bob = await admin.userByUsername(BOB.username).catch(() => null);
      if (!bob) {
        await admin.post('/users', {
          username: BOB.username, enabled: true, email: BOB.email, emailVerified: true, firstName: 'Bob', lastName: 'Example',
          credentials: [{ type: 'password', value: BOB.password, temporary: false }],
        });
        bob = await admin.userByUsername(BOB.username);
      }
    });

    after(async () => {
      await admin.updateConfig(original);
      if (bob) await admin.send('DELETE', `/users/${bob.id}`);
      await admin.put('', { failureFactor: 30 });
      await admin.clearBruteForce(alice.id);
    });

    /** A fresh browser after a login with the code: it holds the remember cookie. */
    async function rememberedBrowser(shot) {
      const b = await Browser.open();
      const { message } = await untilMailArrives(env, mail, b, shot);
      const before = callback.requests.length;
      await submitCode(b.page, codeFrom(message));
      await tokensAtClient(b, before);
      return b;
    }

    test('the cookie is HttpOnly, SameSite=Lax, for the realm path; the next login skips the code', { timeout: CASE_TIMEOUT }, async (t) => {
      const b = await rememberedBrowser('12-remember');
      try {
        const cookie = await rememberCookie(b);
        assert.ok(cookie, 'the remember cookie was set');
        t.diagnostic(`cookie: ${JSON.stringify({ ...cookie, value: `${cookie.value.slice(0, 12)}...` })}`);
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, 'Lax');
        assert.equal(cookie.path, '/realms/acme/');
        assert.equal(cookie.secure, false, 'plain http here; Secure over https');
        const days = (cookie.expires * 1000 - Date.now()) / 86_400_000;
        assert.ok(days > 6.9 && days <= 7, `expires in ${days} days`);

        await forgetSession(b);
        const second = await loginSkipsCode(b);
        assert.equal(second.skipped, true, 'the remembered browser skipped the code page');
        await b.shot('12-remember-skipped');
        assert.equal(second.id.acr, LEVEL_2, 'the step counts as passed');
        const [login] = await admin.events('LOGIN', alice.id, 1);
        assert.equal(login.details.reason, 'remembered_browser', `event ${JSON.stringify(login)}`);
        assert.ok(login.details.otp_sidecar_remembered_until, 'the event says until when');
      } finally {
        await b.close();
      }
    });

    test('a tampered cookie, or another user\'s, is refused: the code page comes', { timeout: CASE_TIMEOUT }, async () => {
      const b = await rememberedBrowser();
      try {
        const cookie = await rememberCookie(b);
        const [h, p, s] = cookie.value.split('.');
        const claims = JSON.parse(Buffer.from(p, 'base64url'));
        claims.exp += 86_400 * 365;
        await forgetSession(b);
        await b.context.addCookies([{ ...cookie, value: `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}` }]);
        assert.equal((await loginSkipsCode(b)).skipped, false, 'a tampered cookie is refused');

        // Alice's genuine cookie in a browser where bob signs in.
        const other = await Browser.open();
        try {
          await other.context.addCookies([cookie]);
          assert.equal((await loginSkipsCode(other, BOB)).skipped, false, 'another user\'s cookie is refused');
        } finally {
          await other.close();
        }
      } finally {
        await b.close();
      }
    });

    test('a password change or an admin sign-out of the user ends it', { timeout: CASE_TIMEOUT }, async () => {
      const b = await rememberedBrowser();
      try {
        await admin.put(`/users/${alice.id}/reset-password`, { type: 'password', value: ALICE.password, temporary: false });
        await forgetSession(b);
        assert.equal((await loginSkipsCode(b)).skipped, false, 'after a password change the code is asked again');
      } finally {
        await b.close();
      }
      const c = await rememberedBrowser();
      try {
        await admin.post(`/users/${alice.id}/logout`);
        await forgetSession(c);
        assert.equal((await loginSkipsCode(c)).skipped, false, 'after an admin sign-out the code is asked again');
      } finally {
        await c.close();
      }
    });

    test('a user locked by brute-force detection is not let through by the cookie', { timeout: CASE_TIMEOUT }, async (t) => {
      const b = await rememberedBrowser();
      const attacker = await Browser.open();
      try {
        // A level-1 session in the same browser (cookie kept), so a step-up reaches the email-code step.
        await forgetSession(b);
        let before = callback.requests.length;
        await passwordStep(env, b, undefined, ALICE, { client_id: STEPUP.client_id });
        await tokensAtClient(b, before, STEPUP);

        // Lock alice: one failure is enough while the realm's failure factor is 1.
        await admin.put('', { failureFactor: 1 });
        const failures = (await admin.bruteForceStatus(alice.id)).numFailures ?? 0;
        await passwordStep(env, attacker, undefined, { ...ALICE, password: 'not-her-password' });
        await attacker.page.waitForLoadState('load');
        assert.equal(await admin.failuresReach(alice.id, failures + 1), failures + 1, 'the wrong password counted');
        assert.equal((await admin.bruteForceStatus(alice.id)).disabled, true, 'alice is locked');

        const sidecar = watchSidecar(b);
        before = callback.requests.length;
        await startLogin(env, b, { client_id: STEPUP.client_id, acr_values: LEVEL_2 });
        await b.page.waitForLoadState('networkidle');
        await b.shot('13-remember-locked');
        assert.ok(onOrigin(b.page, kcOrigin), `expected a Keycloak page, the browser shows ${b.page.url()}`);
        const text = await assertNoStackTrace(b.page);
        t.diagnostic(`page for the locked user: ${text.slice(0, 200).replace(/\s+/g, ' ')}`);
        assert.match(text, /locked/i, 'the page says the account is locked');
        assert.equal(callback.since(before).length, 0, 'no callback to the client');
        assert.deepEqual(sidecar.urls, [], 'no request to the sidecar either');
      } finally {
        await attacker.close();
        await b.close();
        await admin.put('', { failureFactor: 30 });
        await admin.clearBruteForce(alice.id);
      }
    });
  });
});
