# shellcheck shell=bash
# What a browser test on the stack needs on a fresh Debian machine: installs what is
# missing, then the Node.js packages of tests/e2e. Sourced by scripts/test-e2e.sh and
# scripts/test-realm-server.sh; $1 of stack_prerequisites names the caller in messages.

stack_prerequisites() {
	local who=$1 missing=() node_major
	command -v redis-server >/dev/null || missing+=(redis-server)
	[[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]] || missing+=(chromium)
	command -v mvn >/dev/null || missing+=(maven)
	command -v unzip >/dev/null || missing+=(unzip)
	command -v curl >/dev/null || missing+=(curl)
	command -v openssl >/dev/null || missing+=(openssl)
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
	if ((${#missing[@]})); then
		echo "$who: installing ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
	if ((node_major < 20)); then
		echo "$who: Node.js >= 20 is required (found ${node_major}); install it from nodejs.org or your distribution" >&2
		return 1
	fi
	(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
}
