#!/usr/bin/env bash
# Headless-Chromium pass over every mail and page in every locale: PNGs under
# target/screenshots/templates/, axe-core with no serious or critical
# violations, no CSP violation, and the page script's behaviour.
# Installs what it needs (Chromium from apt; the npm packages from the lock file).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && apt-get install -y -qq chromium
fi
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "tests/browser needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

cargo build --quiet --bin otp-sidecar
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && node templates.mjs)
