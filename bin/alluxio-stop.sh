#!/usr/bin/env bash
# Stops the Alluxio-Go processes that alluxio-start.sh started (by pid file).
#
#   alluxio-stop.sh local|all   the worker and master on this host (all: every host of conf/workers and conf/masters)
#   alluxio-stop.sh master|worker|masters|workers
#   alluxio-stop.sh local-ha    the worker, the masters and the ZooKeeper that local-ha started
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/alluxio-common.sh"

stop_daemon() { # NAME
  local name=$1 pid i f
  f=$(pid_file "$name")
  if ! pid=$(running "$name"); then
    rm -f "$f"
    echo "alluxio-$name is not running."
    return 0
  fi
  kill -CONT "$pid" 2>/dev/null || true # a paused process cannot handle SIGTERM
  kill -TERM "$pid"
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "alluxio-$name (pid $pid) did not stop within 30s; killing it." >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
  echo "Stopped alluxio-$name (pid $pid)."
}

remote() { ssh -o StrictHostKeyChecking=no "$1" "ALLUXIO_CONF_DIR=$ALLUXIO_CONF_DIR $ALLUXIO_HOME/bin/alluxio-stop.sh $2"; }

on_hosts() { # FILE TARGET
  local h
  for h in $(hosts "$1"); do
    if is_local "$h"; then stop_daemon "$2"; else remote "$h" "$2"; fi
  done
}

# stop_local_ha: the worker, every master-N, then the local ZooKeeper.
stop_local_ha() {
  local f name zkpid i
  stop_daemon worker
  for f in "$ALLUXIO_PID_DIR"/alluxio-master-*.pid; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .pid); name=${name#alluxio-}
    stop_daemon "$name"
  done
  zkpid=$(cat "$LOCAL_HA_ZK_DIR/zookeeper.pid" 2>/dev/null || true)
  if [[ -n $zkpid ]] && kill -0 "$zkpid" 2>/dev/null; then
    kill -TERM "$zkpid"
    for ((i = 0; i < 100; i++)); do kill -0 "$zkpid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$zkpid" 2>/dev/null || true
    echo "Stopped ZooKeeper (pid $zkpid)."
  fi
  rm -f "$LOCAL_HA_ZK_DIR/zookeeper.pid"
}

[[ $# -ge 1 ]] || { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
case "$1" in
  local) stop_daemon worker; stop_daemon master ;;
  local-ha) stop_local_ha ;;
  master|worker) stop_daemon "$1" ;;
  masters) on_hosts "$ALLUXIO_CONF_DIR/masters" master ;;
  workers) on_hosts "$ALLUXIO_CONF_DIR/workers" worker ;;
  all) on_hosts "$ALLUXIO_CONF_DIR/workers" worker; on_hosts "$ALLUXIO_CONF_DIR/masters" master ;;
  *) echo "alluxio-stop.sh: unknown target '$1' (want local, local-ha, all, masters, workers, master or worker)" >&2; exit 2 ;;
esac
