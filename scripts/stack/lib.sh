# shellcheck shell=bash
# The local stack, as functions: prepare (download, build), start, wait, stop.
# Sourced by scripts/stack.sh; the E2E runner uses that script, never these directly.

STACK_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_DIR="$STACK_REPO/scripts/stack"
STACK_CACHE="$STACK_REPO/.cache"
STACK_RUNS="$STACK_CACHE/stack"
STACK_CURRENT="$STACK_RUNS/current"

KC_VERSION=${KC_VERSION:-26.7.3}
KC_HOME="$STACK_CACHE/keycloak-$KC_VERSION"
# Build-time options; changing them (or the provider jar) triggers `kc.sh build`.
KC_BUILD_OPTS=(--db=dev-mem --cache=local --health-enabled=true)

# Loopback ports, each from the environment (STACK_KC_PORT, ...) with a fixed default. The
# realm import and the sidecar config of a run are written for them (write_realm_files).
KC_PORT=${STACK_KC_PORT:-18080}
KC_MGMT_PORT=${STACK_KC_MGMT_PORT:-19000}
SIDECAR_PORT=${STACK_SIDECAR_PORT:-18081}
REDIS_PORT=${STACK_REDIS_PORT:-16379}
SMTP_PORT=${STACK_SMTP_PORT:-11025}
MAIL_UI_PORT=${STACK_MAIL_UI_PORT:-18025}
DEMO_PORT=${STACK_DEMO_PORT:-18090}
# What keycloak-flow/realm/ names: the sidecar's and demo-app's addresses.
REALM_FILE_SIDECAR_URL="http://localhost:18081"
REALM_FILE_DEMO_URL="http://localhost:18090"

KC_URL="http://localhost:$KC_PORT"
REALM_ISSUER="$KC_URL/realms/acme"
SIDECAR_URL="http://localhost:$SIDECAR_PORT"
MAIL_UI_URL="http://localhost:$MAIL_UI_PORT"
DEMO_URL="http://localhost:$DEMO_PORT"
DEMO_REDIRECT="$DEMO_URL/callback"

MAIL_VENV="$STACK_CACHE/mail-venv"
AIOSMTPD_VERSION=1.4.6

# Bounded waits, in seconds (a loaded 2-core machine needs the Keycloak one).
KC_START_TIMEOUT=${STACK_KC_START_TIMEOUT:-420}
SERVICE_START_TIMEOUT=${STACK_SERVICE_START_TIMEOUT:-60}
STOP_TIMEOUT=${STACK_STOP_TIMEOUT:-30}

SERVICES=(redis mail sidecar keycloak demo)

say() { printf 'stack: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# Every port a number in 1..65535, and no two alike: said before anything starts.
check_ports() {
	local pair var value seen=" "
	for pair in STACK_KC_PORT:KC_PORT STACK_KC_MGMT_PORT:KC_MGMT_PORT STACK_SIDECAR_PORT:SIDECAR_PORT \
		STACK_REDIS_PORT:REDIS_PORT STACK_SMTP_PORT:SMTP_PORT STACK_MAIL_UI_PORT:MAIL_UI_PORT \
		STACK_DEMO_PORT:DEMO_PORT; do
		var=${pair#*:}
		value=${!var}
		if ! [[ "$value" =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
			die "${pair%%:*}=$value is not a port (a number from 1 to 65535)"
		fi
		[[ "$seen" != *" $((10#$value)) "* ]] || die "${pair%%:*}=$value: that port is already given to another service"
		seen+="$((10#$value)) "
	done
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- prerequisites

# Prints JAVA_HOME of a JDK/JRE >= 17, or fails.
find_java_home() {
	local candidates=() c major
	[[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME")
	if command -v java >/dev/null; then
		candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
	fi
	for c in /usr/lib/jvm/*; do candidates+=("$c"); done
	for c in "${candidates[@]}"; do
		[[ -x "$c/bin/java" ]] || continue
		major=$("$c/bin/java" -XshowSettings:properties -version 2>&1 |
			awk -F' = ' '/java.specification.version/ { print $2 }')
		[[ "$major" =~ ^[0-9]+$ ]] && ((major >= 17)) && {
			echo "$c"
			return 0
		}
	done
	return 1
}

ensure_java() {
	if JAVA_HOME=$(find_java_home); then
		export JAVA_HOME
		return
	fi
	say "no JDK >= 17 found; installing openjdk-17-jre-headless"
	if ! { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }; then
		die "could not install a JDK; set JAVA_HOME to a JDK >= 17"
	fi
	JAVA_HOME=$(find_java_home) || die "no JDK >= 17 after install"
	export JAVA_HOME
}

ensure_mail_sink() {
	if [[ -x "$MAIL_VENV/bin/python" ]] &&
		"$MAIL_VENV/bin/python" -c "import aiosmtpd" 2>/dev/null; then
		return
	fi
	say "installing aiosmtpd $AIOSMTPD_VERSION into $MAIL_VENV"
	python3 -m venv "$MAIL_VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
	"$MAIL_VENV/bin/pip" install -q "aiosmtpd==$AIOSMTPD_VERSION" || die "pip install aiosmtpd failed"
}

ensure_keycloak() {
	[[ -x "$KC_HOME/bin/kc.sh" ]] && return
	local zip="$HOME/.m2/repository/org/keycloak/keycloak-quarkus-dist/$KC_VERSION/keycloak-quarkus-dist-$KC_VERSION.zip"
	if [[ ! -f "$zip" ]]; then
		say "downloading Keycloak $KC_VERSION from Maven Central"
		mvn -B -q dependency:get -Dtransitive=false \
			"-Dartifact=org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip" ||
			die "could not download keycloak-quarkus-dist $KC_VERSION"
	fi
	mkdir -p "$STACK_CACHE"
	local tmp
	tmp=$(mktemp -d "$STACK_CACHE/keycloak-unzip.XXXXXX")
	unzip -q "$zip" -d "$tmp" || die "could not unzip $zip"
	mv "$tmp/keycloak-$KC_VERSION" "$KC_HOME"
	rmdir "$tmp"
}

provider_jar() {
	compgen -G "$STACK_REPO/keycloak-flow/target/otp-sidecar-keycloak-*.jar" |
		grep -v -e '-sources.jar$' -e '-javadoc.jar$' | head -n1
}

build_provider_jar() {
	if [[ "${STACK_REUSE:-0}" == 1 && -n "$(provider_jar)" ]]; then
		say "reusing $(provider_jar)"
		return
	fi
	[[ -f "$STACK_REPO/keycloak-flow/pom.xml" ]] || die "keycloak-flow/pom.xml not found"
	say "building the Keycloak provider jar (mvn package)"
	# Its unit tests run in their own step of the test command.
	mvn -B -q -f "$STACK_REPO/keycloak-flow/pom.xml" package -DskipTests ||
		die "mvn package of keycloak-flow failed"
	[[ -n "$(provider_jar)" ]] || die "no keycloak-flow/target/otp-sidecar-keycloak-*.jar after the build"
}

sidecar_bin() {
	echo "${STACK_SIDECAR_BIN:-$STACK_REPO/target/release/otp-sidecar}"
}

build_sidecar() {
	if [[ -n "${STACK_SIDECAR_BIN:-}" ]]; then
		[[ -x "$STACK_SIDECAR_BIN" ]] || die "STACK_SIDECAR_BIN=$STACK_SIDECAR_BIN is not executable"
		return
	fi
	if [[ "${STACK_REUSE:-0}" == 1 && -x "$(sidecar_bin)" ]]; then
		say "reusing $(sidecar_bin)"
		return
	fi
	say "building otp-sidecar (cargo build --release)"
	(cd "$STACK_REPO" && cargo build --release --locked --bin otp-sidecar) ||
		die "cargo build of otp-sidecar failed"
}

# The realm files of this run ($run/realm/acme-realm.json and .yaml): keycloak-flow/realm/
# with the sidecar's and demo-app's addresses of this run's ports.
write_realm_files() {
	local run=$1 name src
	mkdir -p "$run/realm"
	for name in acme-realm.json acme-realm.yaml; do
		src="$STACK_REPO/keycloak-flow/realm/$name"
		[[ -f "$src" ]] || die "realm file $src not found"
		grep -q "$REALM_FILE_SIDECAR_URL" "$src" || die "$src no longer names $REALM_FILE_SIDECAR_URL (update scripts/stack/lib.sh)"
		sed -e "s#$REALM_FILE_SIDECAR_URL#$SIDECAR_URL#g" -e "s#$REALM_FILE_DEMO_URL#$DEMO_URL#g" \
			"$src" >"$run/realm/$name"
	done
}

# Installs the provider and this run's realm into Keycloak; re-runs `kc.sh build` only
# when the jar or the build options changed since the last build.
install_into_keycloak() {
	local run=$1 jar realm stamp
	jar=$(provider_jar)
	realm="$run/realm/acme-realm.json"
	[[ -f "$realm" ]] || die "realm import $realm not found"
	# Touch the installed jar only when it changed: Keycloak compares its timestamp.
	if ! cmp -s "$jar" "$KC_HOME/providers/$(basename "$jar")"; then
		rm -f "$KC_HOME"/providers/otp-sidecar-keycloak-*.jar
		cp "$jar" "$KC_HOME/providers/"
		rm -f "$KC_HOME/.stack-build"
	fi
	mkdir -p "$KC_HOME/data/import"
	rm -f "$KC_HOME"/data/import/*.json
	# STACK_IMPORT_REALM=0: Keycloak starts without the acme realm (the realm-server
	# stage has keycloak-config-cli create it).
	[[ "${STACK_IMPORT_REALM:-1}" == 0 ]] || cp "$realm" "$KC_HOME/data/import/acme-realm.json"
	stamp="$( (sha256sum "$jar" | cut -d' ' -f1) && echo "${KC_BUILD_OPTS[*]}")"
	if [[ -f "$KC_HOME/.stack-build" && "$(cat "$KC_HOME/.stack-build")" == "$stamp" ]]; then
		return
	fi
	say "kc.sh build (provider or build options changed)"
	local t0
	t0=$(now)
	"$KC_HOME/bin/kc.sh" build "${KC_BUILD_OPTS[@]}" >"$STACK_CACHE/keycloak-build.log" 2>&1 || {
		tail -n 40 "$STACK_CACHE/keycloak-build.log" >&2
		die "kc.sh build failed (log: $STACK_CACHE/keycloak-build.log)"
	}
	echo "$stamp" >"$KC_HOME/.stack-build"
	say "kc.sh build took $(elapsed "$t0") s"
}

# Everything Keycloak needs before it can start.
prepare_keycloak() {
	local run=$1
	ensure_java
	ensure_keycloak
	build_provider_jar
	write_realm_files "$run"
	install_into_keycloak "$run"
}

# Everything else; runs while Keycloak boots.
prepare_services() {
	command -v redis-server >/dev/null || die "redis-server not found (apt-get install redis-server)"
	command -v openssl >/dev/null || die "openssl not found"
	ensure_mail_sink
	build_sidecar
}

# ---------------------------------------------------------------- run dir

new_run_dir() {
	local run
	mkdir -p "$STACK_RUNS"
	run="$STACK_RUNS/run-$(date -u +%Y%m%dT%H%M%SZ)-$$"
	mkdir -p "$run/pids" "$run/logs" "$run/secrets" "$run/mail" "$run/redis"
	chmod 700 "$run/secrets"
	ln -sfn "$run" "$STACK_CURRENT"
	echo "$run"
}

current_run_dir() {
	[[ -L "$STACK_CURRENT" && -d "$STACK_CURRENT" ]] || return 1
	readlink -f "$STACK_CURRENT"
}

write_secrets_and_config() {
	local run=$1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$run/secrets/signing.pem" 2>/dev/null || die "openssl genpkey failed"
	openssl rand -hex 32 >"$run/secrets/pepper"
	echo demo-app-secret >"$run/secrets/demo-app-secret" # as in keycloak-flow/realm/acme-realm.json
	chmod 600 "$run/secrets/signing.pem" "$run/secrets/pepper" "$run/secrets/demo-app-secret"
	cat >"$run/sidecar.toml" <<EOF
# Local stack: everything on loopback; written by scripts/stack.sh for this run only.
[server]
bind = "127.0.0.1:$SIDECAR_PORT"
public_url = "$SIDECAR_URL"

[store]
redis_url = "redis://127.0.0.1:$REDIS_PORT/0"

[mail]
smtp_url = "smtp://127.0.0.1:$SMTP_PORT"
from = "Acme Login <login@example.com>"
# alice gets a code mail in nearly every E2E case: more than production's 10 per 15 minutes.
per_address_max = 200

[[realms]]
issuer = "$REALM_ISSUER"

[signing]
key_file = "$run/secrets/signing.pem"

[secrets]
pepper_file = "$run/secrets/pepper"

# One user (alice) signs in many times in a row here, by hand or in the E2E
# test: allow more challenges and wrong codes per hour than production's
# defaults of 10 (the E2E locks several challenges on purpose, each with 5 wrong
# codes, and Keycloak's brute-force counter is what those tests watch).
[otp]
user_max_challenges = 100
user_max_failures = 100
EOF
	# Admin password: random per run, readable only here and by the E2E test.
	local admin_password
	admin_password=$(openssl rand -hex 12)
	cat >"$run/stack.env" <<EOF
STACK_RUN_DIR=$run
KEYCLOAK_URL=$KC_URL
KEYCLOAK_REALM=acme
KEYCLOAK_ISSUER=$REALM_ISSUER
KEYCLOAK_ADMIN_USER=admin
KEYCLOAK_ADMIN_PASSWORD=$admin_password
SIDECAR_URL=$SIDECAR_URL
MAIL_UI_URL=$MAIL_UI_URL
MAIL_API_URL=$MAIL_UI_URL/api/messages
SMTP_PORT=$SMTP_PORT
REDIS_PORT=$REDIS_PORT
DEMO_CLIENT_ID=demo-app
DEMO_CLIENT_SECRET=demo-app-secret
DEMO_REDIRECT_URI=$DEMO_REDIRECT
KEYCLOAK_MGMT_PORT=$KC_MGMT_PORT
REALM_JSON=$run/realm/acme-realm.json
REALM_YAML=$run/realm/acme-realm.yaml
EOF
	chmod 600 "$run/stack.env"
}

env_value() { sed -n "s/^$2=//p" "$1/stack.env"; }

# ---------------------------------------------------------------- processes

# Each service runs in its own session (process group = its pid); the pid file holds
# "pid starttime" so a recycled pid is never signalled.
proc_start_time() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null; }

service_pid() {
	local run=$1 name=$2 pid start
	[[ -f "$run/pids/$name" ]] || return 1
	read -r pid start <"$run/pids/$name"
	[[ -n "$pid" && "$(proc_start_time "$pid")" == "$start" ]] || return 1
	echo "$pid"
}

spawn() {
	local run=$1 name=$2
	shift 2
	if service_pid "$run" "$name" >/dev/null; then
		die "$name is already running"
	fi
	setsid "$@" </dev/null >>"$run/logs/$name.log" 2>&1 &
	local pid=$!
	echo "$pid $(proc_start_time "$pid")" >"$run/pids/$name"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

require_port() {
	port_free "$1" || die "port $1 ($2) on 127.0.0.1 is already in use; stop what holds it (ss -ltnp 'sport = :$1')"
}

# wait_ready RUN NAME TIMEOUT CHECK...: polls CHECK until it succeeds; on timeout or
# when the process exits, shows the log tail and fails.
wait_ready() {
	local run=$1 name=$2 timeout=$3
	shift 3
	local t0 deadline
	t0=$(now)
	deadline=$(($(date +%s) + timeout))
	until "$@" >/dev/null 2>&1; do
		if ! service_pid "$run" "$name" >/dev/null; then
			say "$name exited during start; last lines of $run/logs/$name.log:"
			tail -n 40 "$run/logs/$name.log" >&2
			return 1
		fi
		if (($(date +%s) >= deadline)); then
			say "$name not ready after ${timeout}s; last lines of $run/logs/$name.log:"
			tail -n 40 "$run/logs/$name.log" >&2
			return 1
		fi
		sleep 0.5
	done
	say "$name ready ($(elapsed "$t0") s)"
}

http_ok() { curl -fsS -o /dev/null --max-time 5 "$1"; }

start_redis() {
	local run=$1
	require_port "$REDIS_PORT" redis
	spawn "$run" redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
		--save '' --appendonly no --dir "$run/redis" --daemonize no
	wait_ready "$run" redis "$SERVICE_START_TIMEOUT" redis-cli -p "$REDIS_PORT" ping
}

start_mail() {
	local run=$1
	require_port "$SMTP_PORT" "SMTP sink"
	require_port "$MAIL_UI_PORT" "mail web UI"
	spawn "$run" mail "$MAIL_VENV/bin/python" -u "$STACK_DIR/mail-sink.py" \
		--smtp-port "$SMTP_PORT" --http-port "$MAIL_UI_PORT" --dir "$run/mail"
	wait_ready "$run" mail "$SERVICE_START_TIMEOUT" http_ok "$MAIL_UI_URL/healthz"
}

start_sidecar() {
	local run=$1 bin
	# The binary this run was prepared with, so a restart runs the same one.
	if [[ -f "$run/sidecar-bin" ]]; then bin=$(cat "$run/sidecar-bin"); else bin=$(sidecar_bin); fi
	require_port "$SIDECAR_PORT" sidecar
	"$bin" config check "$run/sidecar.toml" >>"$run/logs/sidecar.log" 2>&1 || {
		tail -n 20 "$run/logs/sidecar.log" >&2
		die "otp-sidecar config check refused $run/sidecar.toml"
	}
	spawn "$run" sidecar env RUST_LOG="${RUST_LOG:-info}" "$bin" --config "$run/sidecar.toml" run
	wait_ready "$run" sidecar "$SERVICE_START_TIMEOUT" http_ok "$SIDECAR_URL/readyz"
}

start_keycloak() {
	local run=$1
	require_port "$KC_PORT" Keycloak
	require_port "$KC_MGMT_PORT" "Keycloak management"
	spawn "$run" keycloak env \
		JAVA_HOME="$JAVA_HOME" \
		KC_BOOTSTRAP_ADMIN_USERNAME="$(env_value "$run" KEYCLOAK_ADMIN_USER)" \
		KC_BOOTSTRAP_ADMIN_PASSWORD="$(env_value "$run" KEYCLOAK_ADMIN_PASSWORD)" \
		"$KC_HOME/bin/kc.sh" start --optimized \
		--http-enabled=true --http-host=127.0.0.1 --http-port="$KC_PORT" \
		--hostname="$KC_URL" --http-management-port="$KC_MGMT_PORT" \
		--import-realm
}

wait_keycloak() {
	local run=$1 t0=$2
	wait_ready "$run" keycloak "$KC_START_TIMEOUT" \
		http_ok "http://127.0.0.1:$KC_MGMT_PORT/health/ready" || return 1
	if [[ "${STACK_IMPORT_REALM:-1}" != 0 ]] && ! http_ok "$REALM_ISSUER/.well-known/openid-configuration"; then
		say "Keycloak is up but realm acme is missing; see $run/logs/keycloak.log"
		return 1
	fi
	local secs
	secs=$(elapsed "$t0")
	echo "$secs" >"$run/keycloak-start-seconds"
	say "Keycloak started in $secs s"
}

# demo-app on localhost:$DEMO_PORT, the realm's redirect target, so a person can click through.
start_demo() {
	local run=$1
	require_port "$DEMO_PORT" demo-app
	spawn "$run" demo python3 -u "$STACK_DIR/demo-app.py" --port "$DEMO_PORT" \
		--issuer "$REALM_ISSUER" --client-id demo-app --client-secret-file "$run/secrets/demo-app-secret"
	wait_ready "$run" demo "$SERVICE_START_TIMEOUT" http_ok "$DEMO_URL/"
}

start_service() {
	local run=$1 name=$2
	case "$name" in
	redis) start_redis "$run" ;;
	mail) start_mail "$run" ;;
	sidecar) start_sidecar "$run" ;;
	demo) start_demo "$run" ;;
	keycloak)
		local t0
		t0=$(now)
		start_keycloak "$run" && wait_keycloak "$run" "$t0"
		;;
	*) die "unknown service '$name' (one of: ${SERVICES[*]})" ;;
	esac
}

stop_service() {
	local run=$1 name=$2 pid i
	pid=$(service_pid "$run" "$name") || {
		rm -f "$run/pids/$name"
		return 0
	}
	kill -TERM -- "-$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 4; i++)); do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 -- "-$pid" 2>/dev/null; then
		say "$name did not stop within ${STOP_TIMEOUT}s; killing it"
		kill -KILL -- "-$pid" 2>/dev/null || true
	fi
	rm -f "$run/pids/$name"
	say "$name stopped"
}

stop_all() {
	local run=$1 i
	# Reverse start order: Keycloak first, Redis last.
	for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
		stop_service "$run" "${SERVICES[$i]}"
	done
}

# Prepares and starts every service. Keycloak starts first because it takes longest;
# the sidecar is built and the other services started while it boots.
start_all() {
	local run=$1 t0
	check_ports
	prepare_keycloak "$run"
	write_secrets_and_config "$run"
	t0=$(now)
	start_keycloak "$run"
	prepare_services
	sidecar_bin >"$run/sidecar-bin"
	start_redis "$run"
	start_mail "$run"
	start_sidecar "$run"
	# The E2E test serves demo-app's redirect target itself (STACK_DEMO_APP=0).
	if [[ "${STACK_DEMO_APP:-1}" != 0 ]]; then start_demo "$run"; fi
	wait_keycloak "$run" "$t0"
}

print_status() {
	local run=$1 name pid
	for name in "${SERVICES[@]}"; do
		if pid=$(service_pid "$run" "$name"); then
			printf '  %-9s running (pid %s)\n' "$name" "$pid"
		else
			printf '  %-9s stopped\n' "$name"
		fi
	done
}

print_urls() {
	local run=$1 login
	login="$KC_URL/realms/acme/protocol/openid-connect/auth?client_id=demo-app&response_type=code&scope=openid&redirect_uri=$DEMO_REDIRECT"
	if service_pid "$run" demo >/dev/null; then
		login="$DEMO_URL/   (Sign in; user alice, password alice-password)"
	fi
	cat <<EOF

  Log in to demo-app:      $login
  Mail (the code arrives): $MAIL_UI_URL/
  Sidecar:                 $SIDECAR_URL/readyz   $SIDECAR_URL/.well-known/jwks.json
  Keycloak admin console:  $KC_URL/admin/   (user $(env_value "$run" KEYCLOAK_ADMIN_USER), password $(env_value "$run" KEYCLOAK_ADMIN_PASSWORD))
  Run dir (logs, config):  $run

EOF
}
