// The running local stack (scripts/stack.sh): its URLs, credentials and service control.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const STACK_SCRIPT = path.join(REPO, 'scripts/stack.sh');

function readEnvFile(file) {
  const env = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

const envFile = () => process.env.STACK_ENV_FILE ?? path.join(REPO, '.cache/stack/current/stack.env');

/** The log of one service of the current run (`logs/<name>.log` next to its stack.env). */
export function serviceLog(name) {
  return fs.readFileSync(path.join(path.dirname(envFile()), 'logs', `${name}.log`), 'utf8');
}

/** Settings of the current stack run; fails with a hint when no stack runs. */
export function stackEnv() {
  const file = envFile();
  if (!fs.existsSync(file)) {
    throw new Error(`${file} not found: start the stack first (scripts/stack.sh start)`);
  }
  const env = readEnvFile(file);
  for (const key of ['KEYCLOAK_URL', 'KEYCLOAK_ISSUER', 'KEYCLOAK_ADMIN_USER', 'KEYCLOAK_ADMIN_PASSWORD',
    'SIDECAR_URL', 'MAIL_API_URL', 'MAIL_UI_URL', 'DEMO_CLIENT_ID', 'DEMO_REDIRECT_URI']) {
    if (!env[key]) throw new Error(`${file} lacks ${key}`);
  }
  return env;
}

async function stack(...args) {
  await run(STACK_SCRIPT, args, { timeout: 120_000, env: { ...process.env, STACK_REUSE: '1' } });
}

export const stopService = (name) => stack('stop', name);
export const startService = (name) => stack('start', name);
