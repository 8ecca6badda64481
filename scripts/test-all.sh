#!/usr/bin/env bash
# The one test command (`make test`): installs what it needs, then runs every
# test of the project, Keycloak end-to-end included. Each stage reports its
# own runner's summary; the last line sums up the stages.
set -uo pipefail
cd "$(dirname "$0")/.."

stages_passed=0
stages_failed=0
failed_names=()

stage() {
  local name=$1
  shift
  local start=$SECONDS
  printf '\n==> stage %s\n' "$name"
  if "$@"; then
    stages_passed=$((stages_passed + 1))
    printf '==> stage %s passed in %ds\n' "$name" $((SECONDS - start))
  else
    stages_failed=$((stages_failed + 1))
    failed_names+=("$name")
    printf '==> stage %s FAILED after %ds\n' "$name" $((SECONDS - start))
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing ${missing[*]} (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

prerequisites() {
  apt_install redis-server redis-tools chromium ca-certificates openssl unzip curl maven python3-venv pkg-config libssl-dev
}

rust_checks() {
  cargo fmt --all -- --check && cargo clippy --all-targets --locked -- -D warnings
}

rust_tests() {
  cargo test --locked
}

# Property-based fuzzing of the request JWT checks, return_uri, the config
# loader, template rendering and the realm linter, plus the seeds of the
# coverage-guided targets (fuzz/corpus); about a minute. The long run is
# `make fuzz` (docs/testing.md).
fuzz_smoke() {
  cargo test --locked --test fuzz
}

# Every benchmark once, in its short smoke mode (debug build, a few challenges,
# nothing timed or compared), so that `make bench` never rots: criterion runs
# each row once, the load benchmark 20 challenges per store plus the scaling,
# half-load and live-challenge phases at 1-4 clients, the mail benchmark 10
# mails. The login benchmark's smoke needs the Keycloak stack: it runs in the
# keycloak-e2e stage. `make bench` is the measuring run (docs/benchmarks.md).
bench_smoke() {
  cargo test --locked --bench core --bench load --bench mail
}

# A bounded sample of mutation testing: Rust mutants in the files of the
# challenge store, tokens, login and config changed since the last tag, a
# few of them (MUTANTS_SAMPLE), against the tests that can kill them; a
# survivor docs/testing.md does not accept fails the stage. The full run is
# `make mutants` (docs/testing.md, "Mutation testing").
mutants_sample() {
  ./scripts/mutants.sh sample
}

stage prerequisites prerequisites
stage rust-lint rust_checks
stage rust-tests rust_tests
stage mutants-sample mutants_sample
stage fuzz-smoke fuzz_smoke
stage bench-smoke bench_smoke
stage supply-chain ./scripts/check-supply-chain.sh
stage templates-browser ./scripts/test-templates-browser.sh
stage keycloak-authenticator ./keycloak-flow/it/run.sh
stage deploy-checks ./scripts/check-deploy.sh
stage keycloak-e2e ./scripts/test-e2e.sh
stage realm-server ./scripts/test-realm-server.sh

printf '\nstages: %d passed, %d failed\n' "$stages_passed" "$stages_failed"
[ "$stages_failed" -eq 0 ] || { printf 'failed: %s\n' "${failed_names[*]}"; exit 1; }
