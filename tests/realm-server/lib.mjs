// Shared by the realm-server checks: keycloak-config-cli runs, the admin REST API on any
// realm, the realm linter, and the files the checks leave for a reader.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../e2e/lib/stack.mjs';

const run = promisify(execFile);
const TIMEOUT = 30_000;

export const OUT = path.join(REPO, 'target/realm-server');
fs.mkdirSync(OUT, { recursive: true });

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (scripts/test-realm-server.sh sets it)`);
  return v;
}

let cliRuns = 0;

/**
 * Runs keycloak-config-cli on `files` against the stack's Keycloak, as an operator would
 * (settings in the environment, so the admin password is not on a command line).
 * Resolves to { code, log }; the log is kept under target/realm-server/.
 */
export async function configCli(env, name, files, { cache = true } = {}) {
  const java = required('CONFIG_CLI_JAVA');
  const jar = required('CONFIG_CLI_JAR');
  const logFile = path.join(OUT, `config-cli-${String(++cliRuns).padStart(2, '0')}-${name}.log`);
  let code = 0;
  let log;
  try {
    const r = await run(java, ['-XX:TieredStopAtLevel=1', '-jar', jar], {
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        KEYCLOAK_URL: env.KEYCLOAK_URL,
        KEYCLOAK_USER: env.KEYCLOAK_ADMIN_USER,
        KEYCLOAK_PASSWORD: env.KEYCLOAK_ADMIN_PASSWORD,
        KEYCLOAK_AVAILABILITYCHECK_ENABLED: 'true',
        IMPORT_FILES_LOCATIONS: files.join(','),
        IMPORT_CACHE_ENABLED: String(cache),
        // Its own debug log says which realms it created or updated.
        LOGGING_LEVEL_DE_ADORSYS_KEYCLOAK_CONFIG: 'debug',
      },
    });
    log = r.stdout + r.stderr;
  } catch (e) {
    code = e.code ?? 1;
    log = `${e.stdout ?? ''}${e.stderr ?? ''}${e.killed ? '\n(killed: timeout)' : ''}`;
  }
  fs.writeFileSync(logFile, log);
  return { code, log, logFile };
}

/** The admin REST API of Keycloak, on any realm. */
export class Admin {
  constructor(env) {
    this.env = env;
    this.cached = null;
  }

  async token() {
    if (this.cached && this.cached.until > Date.now()) return this.cached.token;
    const res = await fetch(`${this.env.KEYCLOAK_URL}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password', client_id: 'admin-cli',
        username: this.env.KEYCLOAK_ADMIN_USER, password: this.env.KEYCLOAK_ADMIN_PASSWORD,
      }),
      signal: AbortSignal.timeout(TIMEOUT),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`admin token: HTTP ${res.status} ${JSON.stringify(body)}`);
    this.cached = { token: body.access_token, until: Date.now() + (body.expires_in - 10) * 1000 };
    return this.cached.token;
  }

  /** { status, body } of one request; never throws on an HTTP error status. */
  async call(method, p, body) {
    const res = await fetch(`${this.env.KEYCLOAK_URL}/admin/realms${p}`, {
      method,
      headers: {
        authorization: `Bearer ${await this.token()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT),
    });
    const text = await res.text();
    let parsed = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, body: parsed };
  }

  async get(p) {
    const r = await this.call('GET', p);
    if (r.status !== 200) throw new Error(`GET ${p}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body;
  }

  async exists(realm) {
    return (await this.call('GET', `/${encodeURIComponent(realm)}`)).status === 200;
  }

  async deleteRealm(realm) {
    const r = await this.call('DELETE', `/${encodeURIComponent(realm)}`);
    if (r.status !== 204 && r.status !== 404) throw new Error(`DELETE realm ${realm}: HTTP ${r.status}`);
  }
}

/** The linter's findings per file: { file: [{ rule, severity, message, pointer }] }. */
export async function lint(files) {
  const bin = required('OTP_SIDECAR_BIN');
  let stdout;
  try {
    ({ stdout } = await run(bin, ['realm', 'lint', '--format', 'json', ...files], { maxBuffer: 16 * 1024 * 1024 }));
  } catch (e) {
    if (e.code !== 1) throw new Error(`realm lint exited ${e.code}: ${e.stderr}`);
    ({ stdout } = e);
  }
  const byFile = Object.fromEntries(files.map((f) => [f, []]));
  for (const f of JSON.parse(stdout).findings) (byFile[f.file] ??= []).push(f);
  return byFile;
}

export function writeJson(name, value) {
  const file = path.join(OUT, name);
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}
