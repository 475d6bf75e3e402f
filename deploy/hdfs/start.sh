#!/usr/bin/env bash
# start.sh: start a real single-node HDFS (Hadoop's MiniDFSCluster: one
# NameNode, one DataNode, real Hadoop code) with all state under DIR, on
# loopback ports, and wait until it serves. See README.md.
#
#   deploy/hdfs/start.sh [--port N] [--timeout SECONDS] [--foreground] [--ha] DIR [-Dkey=value ...]
#
# Prints hdfs://127.0.0.1:PORT when the NameNode is out of safe mode and the
# DataNode has registered; the same URI is in DIR/uri, the JVM's pid in
# DIR/minihdfs.pid and its log in DIR/minihdfs.log. Starting again on a DIR
# that was stopped reuses its data and (unless --port says otherwise) its
# port. --foreground execs the JVM in place (the test harness uses this; the
# JVM then also stops when its standard input closes). --ha starts two
# NameNodes as the HA nameservice hdfs://minihdfs (client configuration in
# DIR/conf; see MiniHdfs.java).
#
# Environment: MINIHDFS_HEAP (default 512m), MINIHDFS_LOG_LEVEL (SLF4J level,
# default info), JAVA (default java from PATH). Works offline once fetch.sh
# has run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port=""
timeout=120
foreground=0
dir=""
extra=()
while (($#)); do
	case "$1" in
	--port) port="$2"; shift 2 ;;
	--timeout) timeout="$2"; shift 2 ;;
	--foreground) foreground=1; shift ;;
	-D*) extra+=("$1"); shift ;;
	--ha) extra+=("--ha"); shift ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "start.sh: unknown option $1" >&2; exit 2 ;;
	*)
		[[ -z "$dir" ]] || { echo "start.sh: more than one DIR" >&2; exit 2; }
		dir="$1"; shift ;;
	esac
done
[[ -n "$dir" ]] || { echo "usage: start.sh [--port N] [--timeout S] [--foreground] DIR [-Dkey=value ...]" >&2; exit 2; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
java="${JAVA:-java}"

if ! command -v "$java" >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
	echo "start.sh: java/javac not found; install with: apt-get install -y openjdk-17-jdk-headless maven" >&2
	exit 1
fi

# The jars: fetch.sh is a no-op (no mvn, no network) once they are cached.
"$here/fetch.sh"
cp="$(cat "$here/.classpath")"

# Compile the launcher into a directory named by the hash of its source and
# classpath, through a temporary directory renamed into place: concurrent
# starts (test packages run in parallel) never see a half-written or
# replaced class.
sum="$(cat "$here/MiniHdfs.java" "$here/.classpath" | sha256sum | cut -c1-16)"
classes="$here/.build/classes-$sum"
if [[ ! -f "$classes/MiniHdfs.class" ]]; then
	mkdir -p "$here/.build"
	tmp="$(mktemp -d "$here/.build/tmp.XXXXXX")"
	# javac warns about sun.misc.Signal (used for SIGTERM); show its output
	# only when it fails.
	if ! out="$(javac -nowarn -d "$tmp" -cp "$cp" "$here/MiniHdfs.java" 2>&1)"; then
		rm -rf "$tmp"
		echo "$out" >&2
		echo "start.sh: javac failed" >&2
		exit 1
	fi
	mv -T "$tmp" "$classes" 2>/dev/null || rm -rf "$tmp" # lost a race: the other copy is the same
fi

if [[ -z "$port" && -s "$dir/port" ]]; then
	port="$(cat "$dir/port")" # a restart keeps its port
fi
port="${port:-0}"

jvm=(
	"$java" "-Xmx${MINIHDFS_HEAP:-512m}" -Xss1m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
	-Djava.net.preferIPv4Stack=true
	"-Dorg.slf4j.simpleLogger.defaultLogLevel=${MINIHDFS_LOG_LEVEL:-info}"
	-Dorg.slf4j.simpleLogger.showDateTime=true
	-cp "$classes:$cp" MiniHdfs --dir "$dir" --port "$port" --uri-file "$dir/uri"
)

rm -f "$dir/uri"
if ((foreground)); then
	exec "${jvm[@]}" --exit-on-stdin-close "${extra[@]}"
fi

if [[ -s "$dir/minihdfs.pid" ]] && kill -0 "$(cat "$dir/minihdfs.pid")" 2>/dev/null; then
	echo "start.sh: already running in $dir (pid $(cat "$dir/minihdfs.pid")); stop it with stop.sh $dir" >&2
	exit 1
fi
# setsid: the daemon outlives this script and its caller's process group.
setsid nohup "${jvm[@]}" "${extra[@]}" </dev/null >>"$dir/minihdfs.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/minihdfs.pid"

# Poll for the URI file the launcher writes once it serves.
deadline=$((SECONDS + timeout))
while [[ ! -s "$dir/uri" ]]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "start.sh: HDFS exited during start-up; last lines of $dir/minihdfs.log:" >&2
		tail -n 40 "$dir/minihdfs.log" >&2
		rm -f "$dir/minihdfs.pid"
		exit 1
	fi
	if ((SECONDS >= deadline)); then
		echo "start.sh: HDFS did not serve within ${timeout}s; see $dir/minihdfs.log" >&2
		kill "$pid" 2>/dev/null || true
		exit 1
	fi
	sleep 0.1
done
uri="$(cat "$dir/uri")"
[[ "$uri" == hdfs://127.0.0.1:* ]] && echo "${uri##*:}" >"$dir/port"
echo "$uri"
