#!/usr/bin/env bash
# The whole product on loopback, without containers: Redis, an SMTP sink with a web
# page, the otp-sidecar and a real Keycloak with the provider and the acme realm.
# The E2E test runs on this same stack (scripts/test-e2e.sh calls `start` and `stop`).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/stack.sh [--reuse] [COMMAND [SERVICE]]

  run              (default) prepare, start everything, print the URLs and stay in the
                   foreground; Ctrl-C stops everything that was started
  start            the same, but return once everything is ready; the services keep
                   running until `stop`
  start SERVICE    start one stopped service of the current run again
  stop [SERVICE]   stop everything of the current run (or one service)
  status           show the current run and what is running
  urls             print the URLs of the current run again

SERVICE is one of: redis mail sidecar keycloak demo

Preparing downloads Keycloak through Maven (once), builds the provider jar
(keycloak-flow/) and the release sidecar. --reuse (or STACK_REUSE=1) skips both
builds when their outputs exist; STACK_SIDECAR_BIN=PATH uses a given sidecar binary;
STACK_DEMO_APP=0 leaves demo-app's port free (the E2E test serves it itself);
STACK_IMPORT_REALM=0 starts Keycloak without the acme realm (the realm-server stage
has keycloak-config-cli create it). Ports: STACK_KC_PORT (18080), STACK_KC_MGMT_PORT
(19000), STACK_SIDECAR_PORT (18081), STACK_REDIS_PORT (16379), STACK_SMTP_PORT (11025),
STACK_MAIL_UI_PORT (18025), STACK_DEMO_PORT (18090); the realm import of a run is
written for them.
Logs, config, keys and the stored mail of each run are in .cache/stack/run-*/.
EOF
}

# shellcheck source=scripts/stack/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack/lib.sh"

if [[ "${1:-}" == --reuse ]]; then
	export STACK_REUSE=1
	shift
fi
command=${1:-run}
service=${2:-}

running_run_dir() {
	local run name
	run=$(current_run_dir) || return 1
	for name in "${SERVICES[@]}"; do
		service_pid "$run" "$name" >/dev/null && {
			echo "$run"
			return 0
		}
	done
	return 1
}

cmd_start_all() {
	local mode=$1 run
	if run=$(running_run_dir); then
		die "a stack is already running ($run); stop it first: scripts/stack.sh stop"
	fi
	run=$(new_run_dir)
	STACK_RUN=$run
	say "run dir $run"
	# Whatever was started is stopped again if starting fails or is interrupted.
	trap 'stop_all "$STACK_RUN"' EXIT
	trap 'exit 130' INT TERM
	start_all "$run"
	print_urls "$run"
	if [[ "$mode" == background ]]; then
		trap - EXIT INT TERM
		say "running in the background; stop with: scripts/stack.sh stop"
		return
	fi
	say "running; press Ctrl-C to stop everything"
	monitor "$run"
}

# Foreground: report a service that exits; keep the others up (it can be started again).
monitor() {
	local run=$1 name started=()
	declare -A reported=()
	for name in "${SERVICES[@]}"; do
		[[ -f "$run/pids/$name" ]] && started+=("$name")
	done
	while sleep 2; do
		for name in "${started[@]}"; do
			if service_pid "$run" "$name" >/dev/null; then
				reported[$name]=
			elif [[ -z "${reported[$name]:-}" ]]; then
				reported[$name]=1
				say "$name is not running; last lines of $run/logs/$name.log:"
				tail -n 20 "$run/logs/$name.log" >&2 || true
				say "start it again with: scripts/stack.sh start $name"
			fi
		done
	done
}

need_run() {
	current_run_dir || die "no stack has been started (scripts/stack.sh start)"
}

case "$command" in
run)
	[[ -z "$service" ]] || die "run takes no service"
	cmd_start_all foreground
	;;
start)
	if [[ -z "$service" ]]; then
		cmd_start_all background
	else
		run=$(need_run)
		[[ " ${SERVICES[*]} " == *" $service "* ]] || die "unknown service '$service' (one of: ${SERVICES[*]})"
		if [[ "$service" == keycloak ]]; then ensure_java; fi
		start_service "$run" "$service"
	fi
	;;
stop)
	run=$(need_run)
	if [[ -z "$service" ]]; then
		stop_all "$run"
	else
		[[ " ${SERVICES[*]} " == *" $service "* ]] || die "unknown service '$service' (one of: ${SERVICES[*]})"
		stop_service "$run" "$service"
	fi
	;;
status)
	if run=$(current_run_dir); then
		echo "run dir: $run"
		print_status "$run"
	else
		echo "no stack has been started"
	fi
	;;
urls)
	run=$(need_run)
	print_urls "$run"
	;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
