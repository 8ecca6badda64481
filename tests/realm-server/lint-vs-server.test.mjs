// The realm linter's OTP-policy claims against what a real Keycloak stores. Each fixture
// under tests/fixtures/lint/otp-policy-*.json goes in four ways:
//   create-rest  POST /admin/realms (what an import does)
//   create-cli   keycloak-config-cli creating the realm
//   update-rest  PUT /admin/realms/{realm} over an existing realm
//   update-cli   keycloak-config-cli updating an existing realm
// The existing realm has a policy of its own (BASE), so a field the server drops is told
// apart from one it stores. Then: every stored value that differs from the fixture (or, for
// a field the fixture leaves out, from the realm before) must be named by a finding, and each
// finding's claim (message and severity) must match what was stored. The stored policies are
// written to target/realm-server/otp-policy-stored.json.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { REPO, stackEnv } from '../e2e/lib/stack.mjs';
import { Admin, configCli, lint, OUT, writeJson } from './lib.mjs';

const env = stackEnv();
const admin = new Admin(env);
const FIXTURES = path.join(REPO, 'tests/fixtures/lint');
const KNOWN = ['otpPolicyType', 'otpPolicyAlgorithm', 'otpPolicyInitialCounter', 'otpPolicyDigits',
  'otpPolicyLookAheadWindow', 'otpPolicyPeriod', 'otpPolicyCodeReusable'];
// The policy of the realm that update-* paths start from: valid, and unlike Keycloak's default.
const BASE = {
  otpPolicyType: 'totp', otpPolicyAlgorithm: 'HmacSHA512', otpPolicyInitialCounter: 0, otpPolicyDigits: 6,
  otpPolicyLookAheadWindow: 2, otpPolicyPeriod: 45, otpPolicyCodeReusable: false,
};
// Rules whose finding says keycloak-config-cli refuses the file.
const CLI_REFUSES = ['otp-policy/wrong-type', 'otp-policy/unknown-key'];
const PATHS = ['create-rest', 'create-cli', 'update-rest', 'update-cli'];
const CASE_TIMEOUT = 600_000;

const fixtures = fs.readdirSync(FIXTURES).filter((f) => /^otp-policy-.*\.json$/.test(f)).sort();
const stem = (f) => f.replace(/\.json$/, '');
const realmName = (f, p) => `lint-${stem(f).replace(/^otp-policy-/, '')}-${p}`;

/** The fixture as a realm of its own: renamed, without ids (flows carry fixed ones). */
function realmFrom(file, name, { withoutPolicy = false } = {}) {
  const strip = (v) => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'id').map(([k, x]) => [k, strip(x)]));
    }
    return v;
  };
  const rep = strip(JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')));
  rep.realm = name;
  if (withoutPolicy) {
    for (const k of Object.keys(rep)) if (k.toLowerCase().startsWith('otppolicy')) delete rep[k];
    Object.assign(rep, BASE);
  }
  return rep;
}

function policyOf(realm) {
  return Object.fromEntries(Object.entries(realm).filter(([k]) => k.toLowerCase().startsWith('otppolicy')));
}

const fmt = (v) => (v === undefined ? 'absent' : JSON.stringify(v));

let defaults; // the policy of a realm created without any otpPolicy* field
let findings; // linter findings per fixture file
const stored = {}; // fixture -> path -> policy, or { rejected }

async function outcomeOf(name) {
  return policyOf(await admin.get(`/${name}`));
}

before(async () => {
  const files = fixtures.map((f) => path.join(FIXTURES, f));
  const byFile = await lint(files);
  findings = Object.fromEntries(fixtures.map((f, i) => [f, byFile[files[i]]]));

  const probe = 'lint-defaults';
  await admin.deleteRealm(probe);
  const r = await admin.call('POST', '', { realm: probe, enabled: true });
  assert.equal(r.status, 201, `creating ${probe}: ${JSON.stringify(r.body)}`);
  defaults = await outcomeOf(probe);
  await admin.deleteRealm(probe);
});

/** Applies every fixture in every way; fills `stored`. */
async function applyAll() {
  const dir = path.join(OUT, 'fixtures');
  fs.rmSync(dir, { recursive: true, force: true });
  for (const p of ['create-cli', 'update-cli']) fs.mkdirSync(path.join(dir, p), { recursive: true });
  for (const f of fixtures) stored[f] = {};

  // Bases for the update paths, and a clean slate for the create paths.
  for (const f of fixtures) {
    for (const p of PATHS) await admin.deleteRealm(realmName(f, p));
    for (const p of ['update-rest', 'update-cli']) {
      const r = await admin.call('POST', '', realmFrom(f, realmName(f, p), { withoutPolicy: true }));
      assert.equal(r.status, 201, `base realm ${realmName(f, p)}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    }
  }

  for (const f of fixtures) {
    const c = await admin.call('POST', '', realmFrom(f, realmName(f, 'create-rest')));
    stored[f]['create-rest'] = c.status === 201 ? await outcomeOf(realmName(f, 'create-rest'))
      : { rejected: `HTTP ${c.status} ${JSON.stringify(c.body).slice(0, 200)}` };
    const u = await admin.call('PUT', `/${realmName(f, 'update-rest')}`, realmFrom(f, realmName(f, 'update-rest')));
    stored[f]['update-rest'] = u.status === 204 ? await outcomeOf(realmName(f, 'update-rest'))
      : { rejected: `HTTP ${u.status} ${JSON.stringify(u.body).slice(0, 200)}` };
    for (const p of ['create-cli', 'update-cli']) {
      fs.writeFileSync(path.join(dir, p, f), JSON.stringify(realmFrom(f, realmName(f, p)), null, 2));
    }
  }

  // keycloak-config-cli: one run per path for all fixtures it reads; a file it refuses to
  // read (a value of the wrong type, an unknown key) stops a whole run, so those run alone.
  const alone = fixtures.filter((f) => findings[f].some((x) => CLI_REFUSES.includes(x.rule)));
  for (const p of ['create-cli', 'update-cli']) {
    const batch = fixtures.filter((f) => !alone.includes(f)).map((f) => path.join(dir, p, f));
    const r = await configCli(env, `lint-${p}`, batch);
    assert.equal(r.code, 0, `config-cli (${p}) failed, see ${r.logFile}:\n${r.log.slice(-3000)}`);
    for (const f of fixtures.filter((x) => !alone.includes(x))) stored[f][p] = await outcomeOf(realmName(f, p));
    for (const f of alone) {
      const one = await configCli(env, `lint-${p}-${stem(f)}`, [path.join(dir, p, f)]);
      const exists = await admin.exists(realmName(f, p));
      const before = p === 'create-cli' ? undefined : BASE;
      const now = exists ? await outcomeOf(realmName(f, p)) : undefined;
      stored[f][p] = one.code !== 0 && (p === 'create-cli' ? !exists : JSON.stringify(now) === JSON.stringify(policyOf(before)))
        ? { rejected: `config-cli exit ${one.code}: ${(one.log.match(/ERROR.*$/m) ?? ['?'])[0].slice(0, 200)}` }
        : now;
    }
  }
  writeJson('otp-policy-stored.json', { defaults, base: BASE, stored });
  fs.writeFileSync(path.join(OUT, 'otp-policy-stored.md'), table());
}

/** What each path stored, one row per fixture and path, for people. */
function table() {
  const short = { otpPolicyType: 'type', otpPolicyAlgorithm: 'alg', otpPolicyInitialCounter: 'counter',
    otpPolicyDigits: 'digits', otpPolicyLookAheadWindow: 'look-ahead', otpPolicyPeriod: 'period',
    otpPolicyCodeReusable: 'reusable' };
  const rows = ['| fixture | path | stored |', '|---|---|---|'];
  for (const f of fixtures) {
    for (const p of PATHS) {
      const s = stored[f][p];
      const cell = s?.rejected ? `rejected (${s.rejected.replace(/\|/g, '/')})`
        : KNOWN.map((k) => `${short[k]} ${fmt(s?.[k])}`).join(', ');
      rows.push(`| ${stem(f)} | ${p} | ${cell} |`);
    }
  }
  return `${rows.join('\n')}\n`;
}

/** Fields whose stored value is not what the fixture says (or, when left out, what was there before). */
function changes(f, p) {
  const input = realmFrom(f, 'x');
  const prior = p.startsWith('create') ? defaults : BASE;
  const s = stored[f][p];
  const out = [];
  // Fields the policy's type never reads are no change worth a word.
  const unread = { hotp: 'otpPolicyPeriod', totp: 'otpPolicyInitialCounter' }[s.otpPolicyType];
  for (const k of KNOWN.filter((x) => x !== unread)) {
    if (k in input) {
      if (JSON.stringify(s[k]) !== JSON.stringify(input[k])) out.push({ field: k, why: `given ${fmt(input[k])}, stored ${fmt(s[k])}` });
    } else if (JSON.stringify(s[k]) !== JSON.stringify(prior[k])) {
      out.push({ field: k, why: `not given, was ${fmt(prior[k])}, stored ${fmt(s[k])}` });
    }
  }
  for (const k of Object.keys(input)) {
    if (k.toLowerCase().startsWith('otppolicy') && !KNOWN.includes(k) && !(k in s)) out.push({ field: k, why: 'given, not stored' });
  }
  return out;
}

/**
 * What each rule's message claims about the stored policy, as a check of one stored
 * outcome. Returns the list of mismatches (empty: the claim holds).
 */
function claimMismatches(finding, f, p) {
  const input = realmFrom(f, 'x');
  const s = stored[f][p];
  const prior = p.startsWith('create') ? defaults : BASE;
  const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const bad = [];
  const want = (cond, what) => { if (!cond) bad.push(what); };
  const m = finding.message;
  switch (finding.rule) {
    case 'otp-policy/wrong-type':
      want(s.rejected, `the server stored it (${JSON.stringify(s)}), the message says it must be refused`);
      break;
    case 'otp-policy/partial': {
      // "... when the realm is created ... ignores A, B ...; on an existing realm,
      // keycloak-config-cli 6.2+ still writes otpPolicyAlgorithm ..."
      const ignored = KNOWN.filter((k) => k in input && new RegExp(`ignores [^;]*\\b${k}\\b`).test(m));
      want(ignored.length > 0, 'the message names no ignored field');
      const cliWritesAlgorithm = /keycloak-config-cli[^;]*writes otpPolicyAlgorithm/.test(m);
      want(cliWritesAlgorithm === ('otpPolicyAlgorithm' in input), 'the message must say whether config-cli writes the algorithm exactly when it is given');
      for (const k of ignored) {
        const applied = p === 'update-cli' && k === 'otpPolicyAlgorithm';
        if (applied) want(eq(s[k], input[k]), `${k}: the message says config-cli writes it on update, stored ${fmt(s[k])}`);
        else want(eq(s[k], prior[k]), `${k}: the message says it is ignored, stored ${fmt(s[k])} (was ${fmt(prior[k])})`);
      }
      break;
    }
    case 'otp-policy/incomplete':
      for (const [, k, v] of m.matchAll(/(otpPolicy\w+) \(becomes (null|0)\)/g)) {
        want(eq(s[k] ?? null, JSON.parse(v)), `${k}: the message says it becomes ${v}, stored ${fmt(s[k])}`);
      }
      break;
    case 'otp-policy/unknown-key':
      // "... Keycloak's admin REST API and keycloak-config-cli refuse the whole realm ..."
      want(/admin REST API and keycloak-config-cli refuse/.test(m), 'the message must say who refuses the realm');
      want(s.rejected, `the server stored the realm (${JSON.stringify(s)}), the message says it is refused`);
      break;
    default: {
      // The value rules (type, algorithm, sha1, digits, period, look-ahead, period-with-hotp,
      // counter-with-totp, code-reusable) warn about a value the server keeps as given: it
      // neither refuses nor corrects it, so the finding is the only word anyone gets.
      const k = finding.pointer.split('/').at(-1);
      want(KNOWN.includes(k), `rule ${finding.rule} points at ${finding.pointer}, not at an otpPolicy field`);
      want(eq(s[k], input[k]), `${k}: given ${fmt(input[k])}, stored ${fmt(s[k])}; the message assumes it is kept`);
    }
  }
  return bad;
}

describe('the linter says what Keycloak stores', { concurrency: 1 }, () => {
  test('every otp-policy fixture, created and updated, through REST and keycloak-config-cli', { timeout: CASE_TIMEOUT }, async (t) => {
    await applyAll();
    t.diagnostic(`stored policies: ${path.join(OUT, 'otp-policy-stored.md')}`);
  });

  for (const f of fixtures) {
    test(stem(f), async (t) => {
      assert.ok(stored[f]?.['update-cli'], 'the fixtures were not applied');
      const problems = [];
      const fs_ = findings[f];
      for (const p of PATHS) {
        const s = stored[f][p];
        t.diagnostic(`${p}: ${s.rejected ? `rejected: ${s.rejected}` : KNOWN.map((k) => `${k}=${fmt(s[k])}`).join(' ')}`);
        if (s.rejected) {
          if (!fs_.some((x) => x.severity === 'error')) problems.push(`${p}: the server refused the realm (${s.rejected}), the linter reports no error`);
        } else {
          // Every silent change is named by an error.
          for (const c of changes(f, p)) {
            const named = fs_.filter((x) => x.message.includes(c.field));
            if (!named.length) problems.push(`${p}: ${c.field} ${c.why}, and the linter does not say so`);
            else if (!named.some((x) => x.severity === 'error')) problems.push(`${p}: ${c.field} ${c.why}; the linter says so only as a warning`);
          }
        }
        for (const x of fs_) {
          for (const bad of claimMismatches(x, f, p)) problems.push(`${p}: ${x.rule}: ${bad}\n    message: ${x.message}`);
        }
      }
      assert.deepEqual(problems, [], `${f}: linter findings ${JSON.stringify(fs_.map((x) => `${x.severity}[${x.rule}] ${x.message}`), null, 1)}`);
    });
  }
});
