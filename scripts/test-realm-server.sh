#!/usr/bin/env bash
# Realm-server stage: the realm files and the realm linter against a real Keycloak 26.7.3.
# One stack (scripts/stack.sh) started without the acme realm, then (tests/realm-server/):
#   * keycloak-config-cli, built from ../shared/vendor/keycloak-config-cli, creates acme from
#     keycloak-flow/realm/acme-realm.yaml; applied again with its import cache off it changes
#     nothing (ids, counts, the flow read back through the admin REST API); headless Chromium
#     logs in through the realm it made;
#   * every otp-policy fixture of the linter, created and updated through the admin REST API
#     and through keycloak-config-cli: the linter's claims against what Keycloak stored.
# Without ../shared/vendor/keycloak-config-cli (a clone elsewhere) the stage says so and is
# skipped. Always tears the stack down; prints its own summary.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
stage_start=$SECONDS

# shellcheck source=scripts/realm-server/config-cli.sh
source scripts/realm-server/config-cli.sh
if [[ ! -f "$CCLI_SRC/pom.xml" ]]; then
	echo "realm-server: SKIPPED: $CCLI_SRC not found (keycloak-config-cli's source comes with ../shared beside the clone; see ../shared/README.md)"
	exit 0
fi

# ---- prerequisites: those of the E2E test, and a JDK 21+ for keycloak-config-cli
# shellcheck source=scripts/stack/prereqs.sh
source scripts/stack/prereqs.sh
stack_prerequisites realm-server
jdk21=$(ccli_ensure_jdk21)
ccli_build "$jdk21"
export CONFIG_CLI_JAVA="$jdk21/bin/java" CONFIG_CLI_JAR="$CCLI_JAR"

# ---- the sidecar (the debug build `cargo test` just made), also the linter under test
cargo build --locked --bin otp-sidecar
export STACK_SIDECAR_BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/otp-sidecar"
export OTP_SIDECAR_BIN="$STACK_SIDECAR_BIN"

# ---- the stack, without the acme realm (config-cli makes it), torn down whatever happens
rc=1
# shellcheck disable=SC2317 # the EXIT trap
teardown() {
	local run
	run=$(readlink -f .cache/stack/current 2>/dev/null || true)
	if ((rc != 0)) && [[ -n "$run" && -f "$run/logs/keycloak.log" ]]; then
		echo "---- last lines of $run/logs/keycloak.log"
		tail -n 60 "$run/logs/keycloak.log"
	fi
	scripts/stack.sh stop || true
	echo "realm-server: Keycloak start: $(cat "$run/keycloak-start-seconds" 2>/dev/null || echo '?') s;" \
		"whole stage: $((SECONDS - stage_start)) s; results and config-cli logs in target/realm-server/"
}
trap teardown EXIT

if scripts/stack.sh status 2>/dev/null | grep -q running; then
	echo "realm-server: a stack is already running; stop it first (scripts/stack.sh stop)" >&2
	trap - EXIT
	exit 1
fi
rm -rf target/realm-server
STACK_IMPORT_REALM=0 STACK_DEMO_APP=0 scripts/stack.sh start

set +e
(cd tests/realm-server && timeout 1200 node --test --test-concurrency=1 --test-reporter=spec \
	config-cli.test.mjs lint-vs-server.test.mjs) | tee target/realm-server.log
rc=${PIPESTATUS[0]}
set -e
mkdir -p target/realm-server && mv target/realm-server.log target/realm-server/node-test.log
passed=$(sed -n 's/^ℹ pass //p' target/realm-server/node-test.log)
failed=$(sed -n 's/^ℹ fail //p' target/realm-server/node-test.log)
echo "realm-server: stored OTP policies per fixture and path: target/realm-server/otp-policy-stored.md"
echo "realm-server: ${passed:-0} passed, ${failed:-?} failed"
exit "$rc"
