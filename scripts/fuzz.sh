#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing (libFuzzer) of the five targets under
# fuzz/, on stable Rust: the coverage instrumentation is rustc's sancov pass
# through stable -C flags, so neither nightly nor cargo-fuzz is needed.
#
#   FUZZ_SECONDS   seconds per target (default 300)
#   FUZZ_TARGETS   which targets (default: all five)
#   FUZZ_MAX_LEN   longest input libFuzzer makes (default 8192)
#
# The seeds in fuzz/corpus/<target>/ are read, not written: what a run finds
# goes to fuzz/target/corpus-run/<target>/ (kept between runs, not in git);
# a crash lands in fuzz/artifacts/<target>/ and fails the run. Turn each into
# a seed under fuzz/corpus/ once fixed (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_TARGETS=${FUZZ_TARGETS:-"request_jwt return_uri config templates realm_lint"}
FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-8192}

host=$(rustc -vV | sed -n 's/^host: //p')
# What cargo-fuzz passes, minus the sanitizer (which needs nightly): libFuzzer's
# inline 8-bit counters, PC table and comparison tracing.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
# --target keeps the flags off build scripts and proc macros.
echo "fuzz: building the targets (first build takes several minutes)"
cargo build --manifest-path fuzz/Cargo.toml --release --locked --target "$host" --bins

bin_dir=fuzz/target/$host/release
logs=fuzz/target/logs
mkdir -p "$logs"
failed=0
summary=()
for t in $FUZZ_TARGETS; do
	mkdir -p "fuzz/target/corpus-run/$t" "fuzz/artifacts/$t"
	before=$(find "fuzz/artifacts/$t" -type f | wc -l)
	echo "fuzz: $t for ${FUZZ_SECONDS}s"
	status=0
	"$bin_dir/$t" -max_total_time="$FUZZ_SECONDS" -max_len="$FUZZ_MAX_LEN" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
		"fuzz/target/corpus-run/$t" "fuzz/corpus/$t" >"$logs/$t.log" 2>&1 || status=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
	cov=$(grep -oE 'cov: [0-9]+' "$logs/$t.log" | tail -1 | cut -d' ' -f2)
	corpus=$(find "fuzz/target/corpus-run/$t" -type f | wc -l)
	crashes=$(($(find "fuzz/artifacts/$t" -type f | wc -l) - before))
	if [[ $status -ne 0 || $crashes -gt 0 ]]; then
		failed=$((failed + 1))
		grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$logs/$t.log" | head -5
	fi
	summary+=("$(printf '%-12s %12s %8s %8s %8s %s' "$t" "${runs:-?}" "${cov:-?}" "$corpus" "$crashes" \
		"$([[ $status -eq 0 ]] && echo ok || echo "exit $status, $logs/$t.log")")")
done

printf '\n%-12s %12s %8s %8s %8s %s\n' target runs cov corpus crashes result
printf '%s\n' "${summary[@]}"
echo "fuzz: $((${#summary[@]} - failed)) passed, $failed failed"
[[ $failed -eq 0 ]]
