#!/usr/bin/env bash
# fetch.sh: resolve the pinned Apache Hadoop jars (pom.xml) from Maven Central
# into the local Maven repository (~/.m2) and write their classpath to
# deploy/hdfs/.classpath. Idempotent: once .classpath is newer than pom.xml and
# every jar it names exists, it returns at once and prints nothing.
#
#   deploy/hdfs/fetch.sh           # resolve (quiet)
#   deploy/hdfs/fetch.sh --print   # ... and print the classpath
#
# Needs java and mvn (Debian: apt-get install -y openjdk-17-jdk-headless maven).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp_file="$here/.classpath"
print=0
[[ "${1:-}" == "--print" ]] && print=1

fresh() {
	[[ -s "$cp_file" && "$cp_file" -nt "$here/pom.xml" ]] || return 1
	local jar
	IFS=: read -r -a jars <"$cp_file"
	for jar in "${jars[@]}"; do
		[[ -f "$jar" ]] || return 1
	done
}

if ! fresh; then
	for tool in java mvn; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "fetch.sh: $tool not found; install it with: apt-get install -y openjdk-17-jdk-headless maven" >&2
			exit 1
		fi
	done
	tmp="$(mktemp "$cp_file.XXXXXX")"
	trap 'rm -f "$tmp"' EXIT
	# -B: no colours or progress; -q: errors only. The dependency plugin
	# downloads what is missing and then only reads ~/.m2.
	if ! out="$(mvn -B -q -f "$here/pom.xml" dependency:build-classpath \
		-Dmdep.outputFile="$tmp" -Dmdep.includeScope=runtime 2>&1)"; then
		echo "$out" >&2
		echo "fetch.sh: mvn could not resolve the Hadoop jars (see above)" >&2
		exit 1
	fi
	[[ -s "$tmp" ]] || { echo "fetch.sh: mvn wrote an empty classpath" >&2; exit 1; }
	mv -f "$tmp" "$cp_file"
	trap - EXIT
fi
if ((print)); then
	cat "$cp_file"
	echo
fi
