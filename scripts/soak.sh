#!/usr/bin/env bash
# `make soak`: the release service at half its measured maximum load for
# SOAK_SECS (default 600), with a real redis-server and an SMTP sink on
# loopback; a table every 30 s (RSS, open fds, Redis keys and used_memory,
# create/verify p50/p99) and a verdict on drift. Exit 1 when something is not
# flat. Stops by itself; every process it starts is stopped at the end.
#   SOAK_SECS=600            length of the soak at half load
#   SOAK_RATE=N              soak at N challenges/s instead of probing the maximum
#   OTP_SOAK_SAMPLE_SECS=30  OTP_SOAK_SETTLE_SECS=150  OTP_SOAK_PROBE_SECS=20
# See docs/operations.md (Soak) and benches/soak/mod.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null; then
	echo "redis-server not found: installing it (apt-get)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

export OTP_SOAK_SECS=${SOAK_SECS:-600}
[[ -n ${SOAK_RATE:-} ]] && export OTP_SOAK_RATE=$SOAK_RATE

out_dir=target/bench-reports
mkdir -p "$out_dir"
log="$out_dir/soak-$(date -u +%Y%m%dT%H%M%SZ).txt"
# Build first (release), so compiling is not part of the soak.
cargo bench --locked --bench load --no-run
echo "==> soak for ${OTP_SOAK_SECS}s (full output: $log)"
cargo bench --locked --bench load 2>&1 | tee "$log"
