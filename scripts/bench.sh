#!/usr/bin/env bash
# Every benchmark of the project, then their summaries together.
# Not part of `make test`: figures are printed, not asserted.
#   scripts/bench.sh            all benchmarks
#   scripts/bench.sh core       only the core benchmarks (criterion)
#   scripts/bench.sh load       only the load benchmark against the service
#   scripts/bench.sh mail       only the mail send latency (lettre's pool vs ours)
#   scripts/bench.sh login      only the login cost through the real Keycloak of the stack
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null; then
    echo "redis-server not found: installing it (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

which=${1:-all}
case "$which" in
    all) benches=(core load mail login) ;;
    core | load | mail | login) benches=("$which") ;;
    *) echo "usage: $0 [all|core|load|mail|login]" >&2; exit 2 ;;
esac

# The login benchmark starts the local stack (scripts/stack.sh): Keycloak from Maven
# Central and the provider jar built with Maven, the SMTP sink in a Python venv; the
# stack installs a JDK itself when there is none.
if [[ " ${benches[*]} " == *" login "* ]]; then
    missing=()
    command -v mvn >/dev/null || missing+=(maven)
    for tool in unzip curl openssl; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    if ((${#missing[@]})); then
        echo "the login benchmark needs ${missing[*]}: installing (apt-get)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

out_dir=target/bench-reports
mkdir -p "$out_dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)

# Build first so compile time is not mixed into any figure.
cargo bench --no-run "${benches[@]/#/--bench=}"

status=0
for bench in "${benches[@]}"; do
    log="$out_dir/$bench-$stamp.txt"
    echo "==> cargo bench --bench $bench (full output: $log)"
    if ! cargo bench --bench "$bench" 2>&1 | tee "$log"; then
        echo "!!! benchmark $bench failed" >&2
        status=1
    fi
done

echo
echo "################ summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)) ################"
for bench in "${benches[@]}"; do
    log="$out_dir/$bench-$stamp.txt"
    # Each benchmark prints its own summary after a line starting with "====".
    [ -f "$log" ] && sed -n '/^==== /,$p' "$log"
done
echo "full logs: $out_dir/*-$stamp.txt"
exit "$status"
