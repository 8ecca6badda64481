#!/usr/bin/env bash
# Every test of the project, in order. Installs its own prerequisites.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test
