// keycloak-config-cli against the real Keycloak of the stack (started without the acme
// realm): it creates acme from keycloak-flow/realm/acme-realm.yaml, a second run with the
// import cache off changes nothing, the flow reads back as written, and a real browser
// logs in through the realm it made.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Browser } from '../e2e/lib/browser.mjs';
import { CallbackServer } from '../e2e/lib/client.mjs';
import { exchangeCode, KeycloakAdmin, verifyIdToken } from '../e2e/lib/keycloak.mjs';
import { ALICE, submitCode, untilMailArrives } from '../e2e/lib/login.mjs';
import { codeFrom, MailSink } from '../e2e/lib/mail.mjs';
import { REPO, stackEnv } from '../e2e/lib/stack.mjs';
import { Admin, configCli, writeJson } from './lib.mjs';

const env = stackEnv();
const admin = new Admin(env);
// The realm files as the stack wrote them for its ports (keycloak-flow/realm/ with the
// sidecar's and demo-app's addresses of this run).
// This run's realm YAML, applied from a copy under target/realm-server/: the stack's run
// directory lies under .cache/, and keycloak-config-cli leaves out any path with a hidden
// directory in it (its import.files.include-hidden-files is off by default).
const YAML = (() => {
  const source = env.REALM_YAML ?? path.join(REPO, 'keycloak-flow/realm/acme-realm.yaml');
  const copy = path.join(REPO, 'target/realm-server/acme-realm.yaml');
  fs.mkdirSync(path.dirname(copy), { recursive: true });
  fs.copyFileSync(source, copy);
  return copy;
})();
// The YAML's twin; a unit test of keycloak-flow keeps both equal.
const REALM = JSON.parse(fs.readFileSync(env.REALM_JSON ?? path.join(REPO, 'keycloak-flow/realm/acme-realm.json'), 'utf8'));
const CASE_TIMEOUT = 300_000;

/** Ids and counts of everything the YAML makes, read back through the admin REST API. */
async function snapshot() {
  const r = `/${REALM.realm}`;
  const realm = await admin.get(r);
  const flows = {};
  for (const flow of REALM.authenticationFlows) {
    const all = await admin.get(`${r}/authentication/flows`);
    const top = all.find((f) => f.alias === flow.alias);
    const executions = flow.topLevel
      ? await admin.get(`${r}/authentication/flows/${encodeURIComponent(flow.alias)}/executions`)
      : null;
    flows[flow.alias] = { id: top?.id ?? null, executions };
  }
  const configs = {};
  for (const exec of Object.values(flows).flatMap((f) => f.executions ?? [])) {
    if (exec.authenticationConfig) {
      configs[exec.authenticationConfig] = await admin.get(`${r}/authentication/config/${exec.authenticationConfig}`);
    }
  }
  const users = await admin.get(`${r}/users?briefRepresentation=true&max=1000`);
  const credentials = {};
  for (const u of users) credentials[u.username] = (await admin.get(`${r}/users/${u.id}/credentials`)).map((c) => ({ id: c.id, type: c.type }));
  const list = async (p, key) => (await admin.get(`${r}${p}`)).map((x) => `${x[key]}=${x.id}`).sort();
  return {
    realm: { id: realm.id, browserFlow: realm.browserFlow },
    topLevelFlows: (await admin.get(`${r}/authentication/flows`)).map((f) => `${f.alias}=${f.id}`).sort(),
    flows,
    configs,
    clients: await list('/clients', 'clientId'),
    clientScopes: await list('/client-scopes', 'name'),
    roles: await list('/roles', 'name'),
    groups: await list('/groups', 'name'),
    users: users.map((u) => `${u.username}=${u.id}`).sort(),
    credentials,
    keys: await list('/components?type=org.keycloak.keys.KeyProvider', 'name'),
  };
}

/** The executions of the YAML's top-level flow, flattened as the admin API lists them. */
function expectedExecutions(alias, level = 0) {
  const flow = REALM.authenticationFlows.find((f) => f.alias === alias);
  return flow.authenticationExecutions.flatMap((e) => [
    {
      level,
      what: e.authenticatorFlow ? `flow ${e.flowAlias}` : e.authenticator,
      requirement: e.requirement,
      config: e.authenticatorConfig ?? null,
      priority: e.priority,
    },
    ...(e.authenticatorFlow ? expectedExecutions(e.flowAlias, level + 1) : []),
  ]);
}

let first;

describe('keycloak-config-cli applies keycloak-flow/realm/acme-realm.yaml', { concurrency: 1 }, () => {
  test('creates the realm', { timeout: CASE_TIMEOUT }, async () => {
    assert.equal(await admin.exists(REALM.realm), false, 'the stack must start without the acme realm');
    const r = await configCli(env, 'acme-create', [YAML]);
    assert.equal(r.code, 0, `config-cli failed, see ${r.logFile}:\n${r.log.slice(-3000)}`);
    assert.match(r.log, new RegExp(`Creating realm '${REALM.realm}'`), `config-cli did not create the realm (${r.logFile})`);
    first = await snapshot();
    assert.equal(first.realm.browserFlow, REALM.browserFlow);
    assert.deepEqual(first.users.map((u) => u.split('=')[0]), REALM.users.map((u) => u.username));
  });

  test('applied again with the import cache off, nothing changes', { timeout: CASE_TIMEOUT }, async (t) => {
    assert.ok(first, 'the first apply did not complete');
    const r = await configCli(env, 'acme-again-no-cache', [YAML], { cache: false });
    assert.equal(r.code, 0, `config-cli failed, see ${r.logFile}:\n${r.log.slice(-3000)}`);
    assert.match(r.log, new RegExp(`Updating realm '${REALM.realm}'`), `config-cli did not apply the file again (${r.logFile})`);
    const second = await snapshot();
    writeJson('acme-snapshots.json', { first, second });
    // The one thing config-cli re-creates on every run: a user's password credential
    // (the YAML gives the password in clear, so it is set again). Same count and type.
    for (const [user, creds] of Object.entries(first.credentials)) {
      assert.deepEqual(second.credentials[user].map((c) => c.type), creds.map((c) => c.type), `credentials of ${user}`);
      const recreated = creds.filter((c, i) => c.id !== second.credentials[user][i].id).map((c) => c.type);
      if (recreated.length) t.diagnostic(`re-created credential(s) of ${user}: ${recreated.join(', ')}`);
    }
    const strip = ({ credentials, ...rest }) => rest;
    assert.deepEqual(strip(second), strip(first), 'ids, counts or the flow changed on the second apply');
  });

  test('the flow reads back as the YAML wrote it', { timeout: CASE_TIMEOUT }, async (t) => {
    assert.ok(first, 'the first apply did not complete');
    const top = REALM.authenticationFlows.find((f) => f.alias === REALM.browserFlow);
    const stored = first.flows[top.alias].executions.map((e) => ({
      level: e.level,
      what: e.authenticationFlow ? `flow ${e.displayName}` : e.providerId,
      requirement: e.requirement,
      config: e.authenticationConfig ? first.configs[e.authenticationConfig].alias : null,
      priority: e.priority,
    }));
    const expected = expectedExecutions(top.alias);
    t.diagnostic(`stored priorities: ${stored.map((e) => `${e.what}=${e.priority}`).join(', ')}`);
    assert.deepEqual(stored, expected);
    const config = Object.values(first.configs).find((c) => c.alias === 'otp-sidecar');
    const yamlConfig = REALM.authenticatorConfig.find((c) => c.alias === 'otp-sidecar');
    // Keycloak's admin API reads back the config keys the step does not declare
    // itself, Keycloak's own AMR keys, masked: they must be stored (present,
    // masked); every other key must read back as the YAML wrote it.
    const MASK = '**********';
    const masked = Object.keys(config.config).filter((k) => config.config[k] === MASK).sort();
    assert.deepEqual(masked, ['default.reference.maxAge', 'default.reference.value'], 'the masked keys');
    const unmasked = (c) => Object.fromEntries(Object.entries(c).filter(([k]) => !masked.includes(k)));
    assert.deepEqual(unmasked(config.config), unmasked(yamlConfig.config), 'the step config');
    for (const k of masked) assert.ok(yamlConfig.config[k], `${k} is in the YAML`);
  });

  test('a real browser logs in through the realm config-cli made', { timeout: CASE_TIMEOUT }, async () => {
    assert.ok(first, 'the first apply did not complete');
    const mail = new MailSink(env.MAIL_API_URL);
    const callback = new CallbackServer(env.DEMO_REDIRECT_URI);
    await callback.start();
    const b = await Browser.open();
    try {
      const { flow, message } = await untilMailArrives(env, mail, b, 'config-cli');
      const before = callback.requests.length;
      await submitCode(b.page, codeFrom(message));
      await b.waitForUrl((u) => u.href.startsWith(env.DEMO_REDIRECT_URI), 'back at the client');
      await b.shot('config-cli-back-at-client');
      const [arrived] = callback.since(before);
      assert.equal(arrived?.searchParams.get('state'), flow.state);
      const tokens = await exchangeCode(env, arrived.searchParams.get('code'), env.DEMO_CLIENT_SECRET);
      const claims = await verifyIdToken(env, tokens.id_token);
      const alice = await new KeycloakAdmin(env).userByUsername(ALICE.username);
      assert.equal(claims.sub, alice.id);
      assert.equal(claims.email, ALICE.email);
    } finally {
      await b.close();
      await callback.stop();
    }
  });
});
