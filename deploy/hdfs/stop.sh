#!/usr/bin/env bash
# stop.sh: stop the HDFS that start.sh started in DIR (SIGTERM, which shuts the
# NameNode and DataNode down cleanly; SIGKILL after --timeout seconds, 30 by
# default). Its data stays in DIR, so start.sh DIR brings it back. Stopping a
# DIR where nothing runs is not an error.
#
#   deploy/hdfs/stop.sh [--timeout SECONDS] DIR
set -euo pipefail

timeout=30
if [[ "${1:-}" == "--timeout" ]]; then
	timeout="$2"
	shift 2
fi
dir="${1:?usage: stop.sh [--timeout SECONDS] DIR}"
pidfile="$dir/minihdfs.pid"
[[ -s "$pidfile" ]] || exit 0
pid="$(cat "$pidfile")"
if kill -TERM "$pid" 2>/dev/null; then
	deadline=$((SECONDS + timeout))
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			echo "stop.sh: pid $pid did not stop within ${timeout}s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
fi
rm -f "$pidfile" "$dir/uri"
