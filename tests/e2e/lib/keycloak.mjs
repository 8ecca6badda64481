// Keycloak over HTTP: the admin REST API and the OIDC endpoints of the test realm.
import crypto from 'node:crypto';

const TIMEOUT = 15_000;

async function json(res, what) {
  const body = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${body.slice(0, 500)}`);
  return body ? JSON.parse(body) : null;
}

export class KeycloakAdmin {
  constructor(env) {
    this.base = env.KEYCLOAK_URL;
    this.realm = env.KEYCLOAK_REALM ?? 'acme';
    this.user = env.KEYCLOAK_ADMIN_USER;
    this.password = env.KEYCLOAK_ADMIN_PASSWORD;
  }

  async token() {
    const res = await fetch(`${this.base}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password', client_id: 'admin-cli', username: this.user, password: this.password,
      }),
      signal: AbortSignal.timeout(TIMEOUT),
    });
    return (await json(res, 'admin token')).access_token;
  }

  async get(path) {
    const res = await fetch(`${this.base}/admin/realms/${this.realm}${path}`, {
      headers: { authorization: `Bearer ${await this.token()}` },
      signal: AbortSignal.timeout(TIMEOUT),
    });
    return json(res, `GET ${path}`);
  }

  async delete(path) {
    const res = await fetch(`${this.base}/admin/realms/${this.realm}${path}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await this.token()}` },
      signal: AbortSignal.timeout(TIMEOUT),
    });
    return json(res, `DELETE ${path}`);
  }

  async post(path, body) {
    return this.send('POST', path, body);
  }

  async put(path, body) {
    return this.send('PUT', path, body);
  }

  async send(method, path, body) {
    const headers = { authorization: `Bearer ${await this.token()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.base}/admin/realms/${this.realm}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT),
    });
    return json(res, `${method} ${path}`);
  }

  /**
   * Polls the brute-force status until numFailures reaches `expected` (bounded), then returns it:
   * Keycloak records failures asynchronously, after the page is already answered. A count
   * that never gets there is returned as it is after the bound, for the caller's exact check.
   * For "nothing more was counted", count a barrier first (`wrongPassword`).
   */
  async failuresReach(userId, expected, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = (await this.bruteForceStatus(userId)).numFailures ?? 0;
      if (n >= expected || Date.now() > deadline) return n;
      await new Promise((r) => { setTimeout(r, 200); });
    }
  }

  /** The config of the realm's otp-sidecar execution (the browser flow's). */
  async sidecarConfig(flowAlias = 'browser-otp-sidecar') {
    const executions = await this.get(`/authentication/flows/${encodeURIComponent(flowAlias)}/executions`);
    const step = executions.find((e) => e.providerId === 'otp-sidecar');
    if (!step?.authenticationConfig) throw new Error(`no configured otp-sidecar execution in ${flowAlias}`);
    return this.get(`/authentication/config/${step.authenticationConfig}`);
  }

  updateConfig(config) {
    return this.put(`/authentication/config/${config.id}`, config);
  }

  /** Newest events of a type for a user (the realm stores events). */
  events(type, userId, max = 5) {
    return this.get(`/events?type=${type}&user=${userId}&max=${max}`);
  }

  /** Empties Keycloak's cache of external public keys (the sidecar's JWKS among them). */
  clearKeysCache() {
    return this.post('/clear-keys-cache');
  }

  async userByUsername(username) {
    const users = await this.get(`/users?username=${encodeURIComponent(username)}&exact=true`);
    if (users.length !== 1) throw new Error(`expected one user ${username}, found ${users.length}`);
    return users[0];
  }

  /** The realm's stored user events of `type` for `userId`, newest first. */
  events(type, userId) {
    return this.get(`/events?type=${encodeURIComponent(type)}&user=${encodeURIComponent(userId)}&max=20`);
  }

  bruteForceStatus(userId) {
    return this.get(`/attack-detection/brute-force/users/${userId}`);
  }

  clearBruteForce(userId) {
    return this.delete(`/attack-detection/brute-force/users/${userId}`);
  }
}

/**
 * A failure Keycloak counts for `username`, caused now: a wrong password on the login form, over
 * plain HTTP. A barrier for exact brute-force counts: Keycloak hands each failure to its
 * brute-force executor when the request that caused it is answered, so once this one is counted,
 * one an earlier request caused would have been counted too; the count then says exactly what
 * happened before.
 */
export async function wrongPassword(env, username) {
  const flow = { state: crypto.randomBytes(16).toString('base64url'), nonce: crypto.randomBytes(16).toString('base64url') };
  const page = await fetch(authorizationUrl(env, flow), { redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT) });
  const html = await page.text();
  if (page.status !== 200) throw new Error(`login page: HTTP ${page.status} ${html.slice(0, 300)}`);
  const form = html.match(/<form[^>]*id="kc-form-login"[^>]*>/)?.[0];
  const action = form?.match(/action="([^"]+)"/)?.[1];
  if (!action) throw new Error(`no login form on Keycloak's page: ${html.slice(0, 500)}`);
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const res = await fetch(action.replaceAll('&amp;', '&'), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie },
    body: new URLSearchParams({ username, password: `not-the-password-${flow.nonce}` }),
    signal: AbortSignal.timeout(TIMEOUT),
  });
  const answer = await res.text();
  if (res.status !== 200 || !/invalid username or password/i.test(answer)) {
    throw new Error(`a wrong password was not refused: HTTP ${res.status} ${answer.slice(0, 500)}`);
  }
}

/** `extra`: more parameters, e.g. `{ client_id: 'stepup-app', acr_values: 'email-otp' }`. */
export function authorizationUrl(env, { state, nonce }, extra = {}) {
  const url = new URL(`${env.KEYCLOAK_ISSUER}/protocol/openid-connect/auth`);
  url.search = new URLSearchParams({
    client_id: env.DEMO_CLIENT_ID,
    response_type: 'code',
    scope: 'openid email profile',
    redirect_uri: env.DEMO_REDIRECT_URI,
    state,
    nonce,
    ...extra,
  }).toString();
  return url.toString();
}

/** Exchanges an authorization code at the token endpoint with the client secret. */
export async function exchangeCode(env, code, clientSecret, clientId = env.DEMO_CLIENT_ID) {
  const res = await fetch(`${env.KEYCLOAK_ISSUER}/protocol/openid-connect/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: env.DEMO_REDIRECT_URI,
    }),
    signal: AbortSignal.timeout(TIMEOUT),
  });
  return json(res, 'token exchange');
}

const b64url = (s) => Buffer.from(s, 'base64url');

/** Verifies an RS256 ID token against the realm's JWKS and returns its claims. */
export async function verifyIdToken(env, idToken) {
  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(b64url(h));
  if (header.alg !== 'RS256') throw new Error(`ID token alg ${header.alg}, expected RS256`);
  const res = await fetch(`${env.KEYCLOAK_ISSUER}/protocol/openid-connect/certs`, {
    signal: AbortSignal.timeout(TIMEOUT),
  });
  const { keys } = await json(res, 'realm JWKS');
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`ID token kid ${header.kid} not in the realm JWKS`);
  const ok = crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), crypto.createPublicKey({ key: jwk, format: 'jwk' }), b64url(s));
  if (!ok) throw new Error('ID token signature does not verify with the realm key');
  return JSON.parse(b64url(p));
}

export function decodeJwtPayload(jwt) {
  return JSON.parse(b64url(jwt.split('.')[1]));
}
