# shellcheck shell=bash
# keycloak-config-cli from the source at ../shared/vendor/keycloak-config-cli: a JDK 21+
# to build and run it, and the jar, built once per content of that source.
# Sourced by scripts/test-realm-server.sh.

CCLI_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CCLI_SRC=${CONFIG_CLI_SRC:-$CCLI_REPO/../shared/vendor/keycloak-config-cli}
CCLI_KC_VERSION=${KC_VERSION:-26.7.3}
CCLI_OUT="$CCLI_REPO/target/keycloak-config-cli"
CCLI_JAR="$CCLI_OUT/keycloak-config-cli.jar"

ccli_say() { printf 'config-cli: %s\n' "$*" >&2; }

# Prints the home of a JDK >= 21 (javac included), or fails.
ccli_find_jdk21() {
	local c major candidates=()
	[[ -n "${CONFIG_CLI_JAVA_HOME:-}" ]] && candidates+=("$CONFIG_CLI_JAVA_HOME")
	[[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME")
	for c in /usr/lib/jvm/*; do candidates+=("$c"); done
	for c in "${candidates[@]}"; do
		[[ -x "$c/bin/java" && -x "$c/bin/javac" ]] || continue
		major=$("$c/bin/java" -XshowSettings:properties -version 2>&1 |
			awk -F' = ' '/java.specification.version/ { print $2 }')
		[[ "$major" =~ ^[0-9]+$ ]] && ((major >= 21)) && {
			echo "$c"
			return 0
		}
	done
	return 1
}

# A JDK 21+: the one on the machine (this machine kind has Temurin beside OpenJDK 17),
# else Debian's newest OpenJDK that apt offers.
ccli_ensure_jdk21() {
	local jdk pkg
	if jdk=$(ccli_find_jdk21); then
		echo "$jdk"
		return 0
	fi
	ccli_say "no JDK >= 21 found; looking for one in apt"
	apt-get update -qq >&2 || true
	for pkg in openjdk-25-jdk-headless openjdk-21-jdk-headless; do
		if apt-cache show "$pkg" >/dev/null 2>&1; then
			ccli_say "installing $pkg"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null >&2 || continue
			ccli_find_jdk21 && return 0
		fi
	done
	ccli_say "no JDK >= 21 on this machine and none in apt; set CONFIG_CLI_JAVA_HOME to one"
	return 1
}

# Content hash of the vendored source (it is not a git checkout), plus what the build depends on.
ccli_source_key() {
	(
		cd "$CCLI_SRC" &&
			find . -type f -not -path './target/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
		echo "keycloak.version=$CCLI_KC_VERSION"
	) | sha256sum | cut -d' ' -f1
}

# Builds $CCLI_JAR unless the one there was built from the same source.
ccli_build() {
	local jdk key build t0
	jdk=$1
	key=$(ccli_source_key)
	if [[ -f "$CCLI_JAR" && "$(cat "$CCLI_OUT/source-key" 2>/dev/null)" == "$key" ]]; then
		ccli_say "jar up to date ($CCLI_JAR, source ${key:0:12})"
		return 0
	fi
	ccli_say "building keycloak-config-cli (source ${key:0:12}, Keycloak $CCLI_KC_VERSION, JDK $jdk)"
	t0=$SECONDS
	build="$CCLI_OUT/build"
	rm -rf "$build" "$CCLI_JAR" "$CCLI_OUT/source-key"
	mkdir -p "$build"
	cp -a "$CCLI_SRC/." "$build/"
	(cd "$build" && JAVA_HOME="$jdk" PATH="$jdk/bin:$PATH" mvn -B -q -DskipTests -Dmaven.gitcommitid.skip=true \
		"-Dkeycloak.version=$CCLI_KC_VERSION" package) >"$CCLI_OUT/build.log" 2>&1 || {
		tail -n 40 "$CCLI_OUT/build.log" >&2
		ccli_say "build failed (log: $CCLI_OUT/build.log)"
		return 1
	}
	cp "$build/target/keycloak-config-cli.jar" "$CCLI_JAR"
	echo "$key" >"$CCLI_OUT/source-key"
	rm -rf "$build"
	ccli_say "built $CCLI_JAR in $((SECONDS - t0)) s"
}
