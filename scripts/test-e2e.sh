#!/usr/bin/env bash
# End-to-end stage: real Keycloak with the provider, the sidecar, Redis and an SMTP sink
# (scripts/stack.sh), driven by headless Chromium (tests/e2e, node --test), then the
# login benchmark's smoke run on the same stack.
# Installs what it lacks, always tears the stack down, prints how long things took.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
stage_start=$(date +%s.%N)
# shellcheck disable=SC2317 # called from the EXIT trap
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- prerequisites (a fresh Debian machine has none of these)
# shellcheck source=scripts/stack/prereqs.sh
source scripts/stack/prereqs.sh
stack_prerequisites test-e2e

# ---- the sidecar: the same code `cargo test` just compiled, so the debug build is
# incremental; E2E_SIDECAR_PROFILE=release tests the optimized binary instead, and
# E2E_SIDECAR_BIN=PATH a binary built elsewhere.
if [[ -n "${E2E_SIDECAR_BIN:-}" ]]; then
	export STACK_SIDECAR_BIN="$E2E_SIDECAR_BIN"
else
	profile=${E2E_SIDECAR_PROFILE:-debug}
	if [[ "$profile" == release ]]; then
		cargo build --locked --release --bin otp-sidecar
	else
		cargo build --locked --bin otp-sidecar
	fi
	target_dir=${CARGO_TARGET_DIR:-$REPO/target}
	export STACK_SIDECAR_BIN="$target_dir/$profile/otp-sidecar"
fi

# ---- the stack, torn down whatever happens
rc=1
# shellcheck disable=SC2317 # the EXIT trap
teardown() {
	local run
	run=$(readlink -f .cache/stack/current 2>/dev/null || true)
	if ((rc != 0)) && [[ -n "$run" && -d "$run/logs" ]]; then
		for log in sidecar keycloak mail; do
			[[ -f "$run/logs/$log.log" ]] || continue
			echo "---- last lines of $run/logs/$log.log"
			tail -n 60 "$run/logs/$log.log"
		done
	fi
	scripts/stack.sh stop || true
	echo "test-e2e: Keycloak start: $(cat "$run/keycloak-start-seconds" 2>/dev/null || echo '?') s;" \
		"whole E2E stage: $(secs_since "$stage_start") s; screenshots in target/screenshots/e2e/"
}
trap teardown EXIT

if scripts/stack.sh status 2>/dev/null | grep -q running; then
	echo "test-e2e: a stack is already running; stop it first (scripts/stack.sh stop)" >&2
	trap - EXIT
	exit 1
fi
rm -rf target/screenshots/e2e
STACK_DEMO_APP=0 scripts/stack.sh start

set +e
(cd tests/e2e && timeout 900 node --test --test-concurrency=1)
rc=$?
# The login benchmark's smoke run on the same stack (benches/login.rs): 3 password
# logins and 3 with the emailed code, over HTTP; it asserts only that each completes.
echo "test-e2e: login benchmark smoke run (cargo test --bench login)"
OTP_BENCH_STACK=running OTP_BENCH_LOGINS=3 OTP_BENCH_WARMUP=0 \
	timeout 600 cargo test --locked --bench login
bench_rc=$?
set -e
((rc == 0)) && rc=$bench_rc
exit "$rc"
