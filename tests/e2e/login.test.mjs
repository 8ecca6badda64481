// End to end: a real browser logs in to demo-app through real Keycloak with the
// otp-sidecar step, against the stack started by scripts/stack.sh.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertNoStackTrace, Browser, pageText } from './lib/browser.mjs';
import { CallbackServer } from './lib/client.mjs';
import {
  decodeJwtPayload, exchangeCode, KeycloakAdmin, verifyIdToken, wrongPassword,
} from './lib/keycloak.mjs';
import { codeFrom, MailSink } from './lib/mail.mjs';
import { serviceLog, stackEnv, startService, stopService } from './lib/stack.mjs';
import {
  ALICE, maxAttempts, passwordStep as sharedPasswordStep, submitCode, untilMailArrives,
  waitForCodePage as sharedWaitForCodePage, wrongCodesUntilLocked,
} from './lib/login.mjs';

const CASE_TIMEOUT = 240_000;

const env = stackEnv();
const kcOrigin = new URL(env.KEYCLOAK_URL).origin;
const sidecarOrigin = new URL(env.SIDECAR_URL).origin;
const mail = new MailSink(env.MAIL_API_URL);
const admin = new KeycloakAdmin(env);
const callback = new CallbackServer(env.DEMO_REDIRECT_URI);
let alice;

const onOrigin = (page, origin) => page.url().startsWith(`${origin}/`);
const isAuthenticatePost = (req) => req.method() === 'POST'
  && req.url().startsWith(`${env.KEYCLOAK_ISSUER}/login-actions/authenticate`);

const passwordStep = (b, shotPrefix) => sharedPasswordStep(env, b, shotPrefix);
const waitForCodePage = (page) => sharedWaitForCodePage(env, page);

/** The sidecar's audit events for `correlationId`, once `last` is among them (bounded). */
async function untilAudited(correlationId, last) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = serviceLog('sidecar').split('\n')
      .flatMap((line) => {
        try {
          return [JSON.parse(line)];
        } catch {
          return [];
        }
      })
      .filter((e) => e.target === 'audit' && e.correlation_id === correlationId);
    if (events.some((e) => e.event === last)) return events;
    if (Date.now() > deadline) {
      throw new Error(`no audit event ${last} for ${correlationId}: ${JSON.stringify(events)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Password step, code page, code from the delivered mail. */
async function untilCodeArrives(b, shotPrefix) {
  const arrived = await untilMailArrives(env, mail, b, shotPrefix);
  return { ...arrived, code: codeFrom(arrived.message) };
}

/** Waits for the browser to settle on Keycloak (after a refusal) and checks the page. */
async function expectKeycloakErrorPage(b, shotName) {
  await b.page.waitForURL((u) => u.origin === kcOrigin || u.protocol === 'chrome-error:', { timeout: 30_000 });
  await b.page.waitForLoadState('load');
  await b.shot(shotName);
  assert.ok(onOrigin(b.page, kcOrigin), `expected a Keycloak page, the browser shows ${b.page.url()}`);
  const text = await assertNoStackTrace(b.page);
  assert.ok(text.length > 0, 'the error page is empty');
  return text;
}

/**
 * After a refused step: either Keycloak's own page, or Keycloak sent the browser back to the
 * client with an OAuth `error`. Never an authorization code, never a stack trace.
 */
async function expectRefused(b, shotName, callbacksBefore) {
  await b.page.waitForLoadState('networkidle');
  await b.shot(shotName);
  assert.ok(!b.page.url().startsWith('chrome-error:'), 'the browser shows a connection error');
  const codes = callback.since(callbacksBefore).filter((u) => u.searchParams.has('code'));
  assert.equal(codes.length, 0, `the client received an authorization code: ${codes.join(' ')}`);
  if (onOrigin(b.page, kcOrigin)) {
    await assertNoStackTrace(b.page);
  } else {
    const last = callback.since(callbacksBefore).at(-1);
    assert.ok(last?.searchParams.get('error'), `expected Keycloak or an OAuth error, the browser shows ${b.page.url()}`);
  }
}

before(async () => {
  await callback.start();
  alice = await admin.userByUsername(ALICE.username);
  await admin.clearBruteForce(alice.id);
});

after(async () => {
  await callback.stop();
});

describe('login to demo-app with an emailed code', { concurrency: 1 }, () => {
  test('password, code from the mail, back at the client with an ID token for alice', { timeout: CASE_TIMEOUT }, async () => {
    const b = await Browser.open();
    try {
      const { flow, message } = await untilCodeArrives(b, '01-success');
      assert.match(message.to, /alice@example\.com/);
      // What the user reads in their mailbox, in a second tab.
      const mailTab = await b.context.newPage();
      await mailTab.goto(`${env.MAIL_UI_URL}/messages/${message.id}`);
      await b.shot('01-success-mail', mailTab);
      await mailTab.close();

      const before = callback.requests.length;
      await submitCode(b.page, codeFrom(message));
      await b.waitForUrl((u) => u.href.startsWith(env.DEMO_REDIRECT_URI), 'back at the client');
      await b.shot('01-success-back-at-client');

      const arrived = callback.since(before);
      assert.equal(arrived.length, 1, 'exactly one callback to the client');
      const params = arrived[0].searchParams;
      assert.equal(params.get('state'), flow.state);
      assert.ok(params.get('code'), 'callback carries an authorization code');
      assert.equal(params.get('error'), null);

      const tokens = await exchangeCode(env, params.get('code'), env.DEMO_CLIENT_SECRET ?? 'demo-app-secret');
      const claims = await verifyIdToken(env, tokens.id_token);
      assert.equal(claims.iss, env.KEYCLOAK_ISSUER);
      assert.ok([claims.aud].flat().includes(env.DEMO_CLIENT_ID), `aud ${claims.aud}`);
      assert.equal(claims.nonce, flow.nonce);
      assert.equal(claims.sub, alice.id, 'ID token sub is alice\'s user id');
      assert.equal(claims.email, ALICE.email);
      assert.ok(decodeJwtPayload(tokens.access_token).sub === alice.id);

      // One login, followed across both logs: Keycloak's LOGIN event names the request the
      // sidecar's audit trail follows.
      const login = (await admin.events('LOGIN', alice.id))
        .find((e) => e.clientId === env.DEMO_CLIENT_ID && e.details?.otp_correlation_id);
      assert.ok(login, 'a LOGIN event with otp_correlation_id');
      const id = login.details.otp_correlation_id;
      const audit = await untilAudited(id, 'verified');
      assert.deepEqual(audit.map((e) => e.event), ['created', 'mailed', 'verified']);
      for (const e of audit) {
        assert.equal(e.subject, alice.id);
        assert.equal(e.realm, env.KEYCLOAK_ISSUER);
        assert.equal(e.client, env.DEMO_CLIENT_ID);
        assert.ok(!JSON.stringify(e).includes(ALICE.email), 'the address is masked');
      }
    } finally {
      await b.close();
    }
  });

  test('the code page loads every resource it references', { timeout: CASE_TIMEOUT }, async () => {
    const b = await Browser.open();
    const broken = [];
    b.page.on('response', (r) => {
      if (r.url().startsWith(`${sidecarOrigin}/`) && r.status() >= 400) broken.push(`${r.status()} ${r.url()}`);
    });
    b.page.on('requestfailed', (r) => {
      if (r.url().startsWith(`${sidecarOrigin}/`)) broken.push(`${r.failure()?.errorText} ${r.url()}`);
    });
    try {
      await untilCodeArrives(b);
      await b.page.waitForLoadState('networkidle');
      assert.deepEqual(broken, [], 'stylesheets, scripts and images of the code page load');
    } finally {
      await b.close();
    }
  });

  test('wrong codes until locked: Keycloak error page, counted by brute-force detection', { timeout: CASE_TIMEOUT }, async (t) => {
    const b = await Browser.open();
    try {
      const max = await maxAttempts(admin);
      const failuresBefore = (await admin.bruteForceStatus(alice.id)).numFailures ?? 0;
      const before = callback.requests.length;
      const { code } = await untilCodeArrives(b, '02-locked');
      // Exactly `max` wrong codes: the first max - 1 leave the code page up with one attempt
      // less each, the max-th ends the challenge.
      await wrongCodesUntilLocked(env, b, code, max, async (attempt) => {
        if (attempt === 1) {
          await b.shot('02-locked-wrong-code');
          assert.doesNotMatch(await pageText(b.page), new RegExp(code), 'the page must not reveal the code');
        }
      });
      const text = await expectKeycloakErrorPage(b, '02-locked-keycloak-error');
      assert.equal(callback.since(before).length, 0, 'no callback to the client');
      assert.match(text, /too many wrong codes/i, 'the page says why');
      assert.ok(await b.page.getByRole('button', { name: /send a new code/i }).isVisible(), 'offers a new code');

      // The locked challenge is one failed login, not one per wrong code ...
      const failuresAfter = await admin.failuresReach(alice.id, failuresBefore + 1);
      t.diagnostic(`brute-force numFailures for alice: ${failuresBefore} -> ${failuresAfter}`);
      assert.equal(failuresAfter, failuresBefore + 1, 'brute-force detection counted the locked challenge once');
      // ... and nothing trails in: a failure caused after it is the only one more.
      await wrongPassword(env, ALICE.username);
      assert.equal(await admin.failuresReach(alice.id, failuresBefore + 2), failuresBefore + 2);
    } finally {
      await b.close();
      await admin.clearBruteForce(alice.id);
    }
  });

  test('a captured assertion posted again is refused', { timeout: CASE_TIMEOUT }, async () => {
    const b = await Browser.open();
    let attacker;
    try {
      let captured;
      b.page.on('request', (req) => {
        const body = isAuthenticatePost(req) ? new URLSearchParams(req.postData() ?? '') : null;
        if (body?.has('assertion') && !captured) captured = { url: req.url(), assertion: body.get('assertion') };
      });
      const { code } = await untilCodeArrives(b);
      await submitCode(b.page, code);
      await b.waitForUrl((u) => u.href.startsWith(env.DEMO_REDIRECT_URI), 'back at the client');
      assert.ok(captured, 'the browser posted an assertion to Keycloak');
      assert.equal(decodeJwtPayload(captured.assertion).result, 'success');

      const postAgain = (page) => page.evaluate(({ url, assertion }) => {
        const form = document.createElement('form');
        form.method = 'POST';
        form.action = url;
        const field = Object.assign(document.createElement('input'), { type: 'hidden', name: 'assertion', value: assertion });
        form.append(field);
        document.body.append(form);
        form.submit();
      }, captured);

      // The same browser, its login done: the assertion must not log anyone in again.
      const before = callback.requests.length;
      await Promise.all([b.page.waitForEvent('load'), postAgain(b.page)]);
      await expectRefused(b, '03-replay-same-browser', before);

      // Another browser that only has the captured assertion.
      attacker = await Browser.open();
      await attacker.page.goto(env.MAIL_UI_URL);
      await Promise.all([attacker.page.waitForEvent('load'), postAgain(attacker.page)]);
      await expectRefused(attacker, '03-replay-other-browser', before);
    } finally {
      await b.close();
      await attacker?.close();
    }
  });

  test('a tampered assertion is refused', { timeout: CASE_TIMEOUT }, async () => {
    const b = await Browser.open();
    try {
      let tampered = false;
      await b.page.route(`${env.KEYCLOAK_ISSUER}/login-actions/authenticate**`, async (route) => {
        const req = route.request();
        const body = isAuthenticatePost(req) ? new URLSearchParams(req.postData() ?? '') : null;
        if (!body?.has('assertion')) return route.continue();
        const [h, p, s] = body.get('assertion').split('.');
        // One character of the payload changed, the JSON still valid: only the signature can tell.
        const claims = JSON.parse(Buffer.from(p, 'base64url'));
        const jti = String(claims.jti);
        claims.jti = jti.slice(0, -1) + (jti.endsWith('A') ? 'B' : 'A');
        body.set('assertion', `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`);
        tampered = true;
        return route.continue({ postData: body.toString() });
      });
      const before = callback.requests.length;
      const { code } = await untilCodeArrives(b);
      await submitCode(b.page, code);
      const text = await expectKeycloakErrorPage(b, '04-tampered-assertion');
      assert.match(text, /could not be completed/i, 'the page says the step failed');
      assert.ok(tampered, 'the assertion was intercepted and changed');
      assert.equal(callback.since(before).length, 0, 'no callback to the client');
    } finally {
      await b.close();
    }
  });

  test('sidecar down when Keycloak checks the assertion: clear error page, then a new code works', { timeout: CASE_TIMEOUT }, async () => {
    const b = await Browser.open();
    try {
      // Keycloak must fetch the sidecar's keys again to check the assertion, as on a cold start:
      // the step loaded them before sending the browser to the sidecar, so clear them there.
      await b.page.route(`${env.KEYCLOAK_ISSUER}/login-actions/authenticate**`, async (route) => {
        const req = route.request();
        const body = isAuthenticatePost(req) ? new URLSearchParams(req.postData() ?? '') : null;
        if (body?.has('assertion')) {
          await stopService('sidecar');
          await admin.clearKeysCache();
        }
        return route.continue();
      });
      const before = callback.requests.length;
      const { code } = await untilCodeArrives(b, '05-sidecar-down');
      await submitCode(b.page, code);
      const text = await expectKeycloakErrorPage(b, '05-sidecar-down-keycloak-error');
      assert.match(text, /not available/i, 'the page says the code service is not available');
      assert.equal(callback.since(before).length, 0, 'no callback to the client');

      // Back up: "Send a new code" starts a new challenge and the login completes.
      await startService('sidecar');
      await b.page.unrouteAll();
      const seen = (await mail.messagesTo(ALICE.email)).length;
      await b.page.getByRole('button', { name: /send a new code/i }).click();
      await waitForCodePage(b.page);
      const message = await mail.waitForMessage(ALICE.email, seen);
      await submitCode(b.page, codeFrom(message));
      await b.waitForUrl((u) => u.href.startsWith(env.DEMO_REDIRECT_URI), 'back at the client');
      assert.equal(callback.since(before).length, 1, 'the login completed after the sidecar came back');
    } finally {
      await b.close();
      await startService('sidecar').catch(() => {});
    }
  });

  test('sidecar down before the login: Keycloak shows a clear error page, then a new code works', { timeout: CASE_TIMEOUT }, async () => {
    const b = await Browser.open();
    try {
      await stopService('sidecar');
      // As on a cold start: Keycloak has to fetch the sidecar's keys to know it is usable.
      await admin.clearKeysCache();
      const toSidecar = [];
      b.page.on('request', (req) => { if (req.url().startsWith(`${sidecarOrigin}/`)) toSidecar.push(req.url()); });
      const before = callback.requests.length;
      const failuresBefore = (await admin.bruteForceStatus(alice.id)).numFailures ?? 0;
      await passwordStep(b, '05-sidecar-down-before-login');
      const text = await expectKeycloakErrorPage(b, '05-sidecar-down-before-login-keycloak-error');
      assert.match(text, /not available/i, 'the page says the code service is not available');
      assert.ok(await b.page.getByRole('button', { name: /send a new code/i }).isVisible(), 'offers a new code');
      assert.deepEqual(toSidecar, [], 'the browser was not sent to the sidecar');
      assert.equal(callback.since(before).length, 0, 'no callback to the client');
      // Not counted: a failure caused after the outage page is the only one more.
      await wrongPassword(env, ALICE.username);
      assert.equal(await admin.failuresReach(alice.id, failuresBefore + 1), failuresBefore + 1,
        'an outage is not counted as a failed login');

      // Back up: "Send a new code" checks again, sends the request and the login completes.
      await startService('sidecar');
      const seen = (await mail.messagesTo(ALICE.email)).length;
      await b.page.getByRole('button', { name: /send a new code/i }).click();
      await waitForCodePage(b.page);
      const message = await mail.waitForMessage(ALICE.email, seen);
      await submitCode(b.page, codeFrom(message));
      await b.waitForUrl((u) => u.href.startsWith(env.DEMO_REDIRECT_URI), 'back at the client');
      assert.equal(callback.since(before).length, 1, 'the login completed after the sidecar came back');
    } finally {
      await b.close();
      await startService('sidecar').catch(() => {});
      await admin.clearBruteForce(alice.id);
    }
  });

  test('back and reload on the code page send no second mail; the first code still works', { timeout: CASE_TIMEOUT }, async () => {
    const b = await Browser.open();
    try {
      const { code, seen } = await untilCodeArrives(b, '06-back-reload');
      const expected = seen + 1;
      // A page that sends a mail waits for the mail server's answer before it shows (up to 2 s),
      // so a mail these caused would be in the sink once the page is there; the barrier login
      // below makes that exact.
      const mails = async () => (await mail.messagesTo(ALICE.email)).length;

      await b.page.reload();
      await waitForCodePage(b.page);
      await b.shot('06-back-reload-after-reload');
      assert.equal(await mails(), expected, 'reload sent another mail');

      await b.page.goBack().catch(() => {});
      await b.page.waitForLoadState('load');
      await b.shot('06-back-reload-after-back');
      assert.ok(!onOrigin(b.page, kcOrigin) || await assertNoStackTrace(b.page));
      assert.equal(await mails(), expected, 'back sent another mail');

      if (!onOrigin(b.page, sidecarOrigin)) await b.page.goForward().catch(() => {});
      await waitForCodePage(b.page);
      assert.equal(await mails(), expected, 'forward sent another mail');

      const before = callback.requests.length;
      await submitCode(b.page, code);
      await b.waitForUrl((u) => u.href.startsWith(env.DEMO_REDIRECT_URI), 'back at the client');
      assert.equal(callback.since(before).length, 1, 'the first code completed the login');

      // A barrier: a login started after all of that. Its mail is the only one more, and it is
      // the barrier's own (its code completes that login).
      const barrier = await Browser.open();
      try {
        await passwordStep(barrier);
        await waitForCodePage(barrier.page);
        const newest = await mail.waitForMessage(ALICE.email, expected);
        assert.equal(await mails(), expected + 1, 'reload, back or forward sent another mail');
        const barrierBefore = callback.requests.length;
        await submitCode(barrier.page, codeFrom(newest));
        await barrier.waitForUrl((u) => u.href.startsWith(env.DEMO_REDIRECT_URI), 'the barrier login at the client');
        assert.equal(callback.since(barrierBefore).length, 1);
      } finally {
        await barrier.close();
      }
    } finally {
      await b.close();
    }
  });
});
