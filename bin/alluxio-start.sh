#!/usr/bin/env bash
# Starts Alluxio-Go processes, as Alluxio's script of the same name does.
#
#   alluxio-start.sh local     one master and one worker on this host (formats on first start)
#   alluxio-start.sh master    the master on this host
#   alluxio-start.sh worker    the worker on this host
#   alluxio-start.sh masters   a master on every host of conf/masters (ssh for other hosts)
#   alluxio-start.sh workers   a worker on every host of conf/workers
#   alluxio-start.sh all       masters, then workers
#   alluxio-start.sh local-ha  fault-tolerant demo on this host: a local ZooKeeper
#                              (deploy/zookeeper/start-local.sh), three masters sharing
#                              one journal, one worker; all find the leader through ZooKeeper
#
# Environment: ALLUXIO_HOME, ALLUXIO_CONF_DIR (default $ALLUXIO_HOME/conf),
# ALLUXIO_LOGS_DIR (default $ALLUXIO_HOME/logs), ALLUXIO_PID_DIR
# (default $ALLUXIO_HOME/run), and ALLUXIO_*_JAVA_OPTS with -Dkey=value items.
# local-ha: ALLUXIO_LOCAL_HA_ZK_PORT (2181), ALLUXIO_LOCAL_HA_MASTER_PORTS
# (19998,20998,21998; web port = rpc port + 1), ALLUXIO_LOCAL_HA_ZK_DIR.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/alluxio-common.sh"

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

ensure_built() {
  local missing=
  if [[ ! -x "$BIN/alluxio-master" || ! -x "$BIN/alluxio-worker" || ! -x "$BIN/alluxio" ]]; then missing=1; fi
  # In a source tree with Go, (re)build: go's cache makes an up-to-date build
  # take a second or two, and binaries older than the scripts can miss flags
  # the scripts use. A binary installation without Go uses what is there.
  if [[ -f "$ALLUXIO_HOME/Makefile" && -d "$ALLUXIO_HOME/master" ]] && command -v go >/dev/null 2>&1; then
    [[ -n $missing ]] && echo "Building binaries (make build)..."
    make -C "$ALLUXIO_HOME" build >/dev/null || die "build failed: run 'make build' to see why"
  elif [[ -n $missing ]]; then
    die "binaries missing in $BIN and no Go toolchain to build them (run 'make build' where Go is installed)"
  fi
}

# ensure_conf: a first local start gets conf/ from the templates in deploy/.
ensure_conf() {
  if [[ ! -d "$ALLUXIO_CONF_DIR" ]]; then
    mkdir -p "$ALLUXIO_CONF_DIR"
    cp "$ALLUXIO_HOME/deploy/alluxio-site.properties.template" "$ALLUXIO_CONF_DIR/alluxio-site.properties"
    cp "$ALLUXIO_HOME/deploy/masters" "$ALLUXIO_HOME/deploy/workers" "$ALLUXIO_CONF_DIR/"
    echo "Created $ALLUXIO_CONF_DIR from deploy/ templates."
  fi
}

# wait_port HOST PORT SECONDS NAME PID: poll until HOST:PORT accepts connections.
wait_port() {
  local host=$1 port=$2 secs=$3 name=$4 pid=$5 i
  for ((i = 0; i < secs * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      die "$name exited during start-up; last lines of $ALLUXIO_LOGS_DIR/$name.log:
$(tail -n 5 "$ALLUXIO_LOGS_DIR/$name.log" 2>/dev/null)"
    fi
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$name did not listen on $host:$port within ${secs}s; see $ALLUXIO_LOGS_DIR/$name.log"
}

conf_get() { "$BIN/alluxio" getConf "$1"; }

start_daemon() { # NAME [HOST PORT]   NAME: master, worker, or master-1, ... (several on one host)
  local name=$1 kind pid port host
  kind=$(kind "$name")
  if pid=$(running "$name"); then
    echo "alluxio-$name is already running (pid $pid)."
    return 0
  fi
  mkdir -p "$ALLUXIO_LOGS_DIR" "$ALLUXIO_PID_DIR"
  nohup "$BIN/alluxio-$kind" >>"$ALLUXIO_LOGS_DIR/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$(pid_file "$name")"
  if [[ $# -ge 3 ]]; then
    host=$2; port=$3
  elif [[ $kind == master ]]; then
    port=$(conf_get alluxio.master.rpc.port); host=$(conf_get alluxio.master.hostname)
  else
    port=$(conf_get alluxio.worker.rpc.port); host=$(conf_get alluxio.worker.hostname)
  fi
  wait_port "$host" "$port" 60 "$name" "$pid"
  echo "Started alluxio-$name (pid $pid) on $host:$port; log: $ALLUXIO_LOGS_DIR/$name.log"
}

# format_if_new: format the journal and worker storage on the first start.
format_if_new() {
  local folder state
  folder=$(conf_get alluxio.master.journal.folder)
  # The master reads the folder through the same storage layer it journals
  # with (a local path, file:///, hdfs://); a folder it cannot read is an
  # error, never a reason to format (formatting erases the journal).
  state=$("$BIN/alluxio-master" --journal-formatted) || die "cannot check the journal folder $folder (see the error above); not formatting"
  if [[ $state == "not formatted" ]]; then
    echo "Formatting a new cluster (journal $folder)..."
    "$BIN/alluxio" format >/dev/null || die "format failed"
  fi
}

wait_worker_registered() {
  local i
  for ((i = 0; i < 300; i++)); do
    if "$BIN/alluxio" fsadmin report 2>/dev/null | grep -Eq 'Live Workers:[[:space:]]*[1-9]'; then return 0; fi
    sleep 0.1
  done
  die "the worker did not register with the master within 30s; see $ALLUXIO_LOGS_DIR/worker.log"
}

remote() { # HOST TARGET
  ssh -o StrictHostKeyChecking=no "$1" "ALLUXIO_CONF_DIR=$ALLUXIO_CONF_DIR $ALLUXIO_HOME/bin/alluxio-start.sh $2"
}

on_hosts() { # FILE TARGET
  local h
  for h in $(hosts "$1"); do
    if is_local "$h"; then start_daemon "$2"; else remote "$h" "$2"; fi
  done
}

# start_local_ha: ZooKeeper, then three masters on distinct ports sharing the
# configured journal folder, then the worker, all in fault-tolerant mode.
start_local_ha() {
  local zkpid i port ports
  ensure_built; ensure_conf
  mkdir -p "$ALLUXIO_PID_DIR" "$ALLUXIO_LOGS_DIR"
  zkpid=$(cat "$LOCAL_HA_ZK_DIR/zookeeper.pid" 2>/dev/null || true)
  if [[ -n $zkpid ]] && kill -0 "$zkpid" 2>/dev/null; then
    echo "ZooKeeper is already running (pid $zkpid) at 127.0.0.1:$LOCAL_HA_ZK_PORT."
  else
    "$ALLUXIO_HOME/deploy/zookeeper/start-local.sh" -p "$LOCAL_HA_ZK_PORT" -d "$LOCAL_HA_ZK_DIR" >/dev/null \
      || die "could not start ZooKeeper (deploy/zookeeper/start-local.sh -p $LOCAL_HA_ZK_PORT)"
    echo "Started ZooKeeper (pid $(cat "$LOCAL_HA_ZK_DIR/zookeeper.pid")) at 127.0.0.1:$LOCAL_HA_ZK_PORT; data in $LOCAL_HA_ZK_DIR."
  fi
  export ALLUXIO_JAVA_OPTS="${ALLUXIO_JAVA_OPTS:-} $(local_ha_opts)"
  format_if_new
  IFS=, read -ra ports <<<"$LOCAL_HA_MASTER_PORTS"
  for i in "${!ports[@]}"; do
    port=${ports[$i]}
    ALLUXIO_MASTER_JAVA_OPTS="${ALLUXIO_MASTER_JAVA_OPTS:-} -Dalluxio.master.hostname=127.0.0.1 -Dalluxio.master.rpc.port=$port -Dalluxio.master.web.port=$((port + 1))" \
      start_daemon "master-$((i + 1))" 127.0.0.1 "$port"
  done
  start_daemon worker
  wait_worker_registered
  echo "Fault-tolerant local cluster is up: ZooKeeper 127.0.0.1:$LOCAL_HA_ZK_PORT, masters on ports $LOCAL_HA_MASTER_PORTS."
  echo "Try: ALLUXIO_USER_JAVA_OPTS='$(local_ha_opts)' $BIN/alluxio fs masterInfo"
  echo "     $BIN/alluxio fs ls alluxio://zk@127.0.0.1:$LOCAL_HA_ZK_PORT/   (stop: $BIN/alluxio-stop.sh local-ha)"
}

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
case "$1" in
  -h|--help) usage ;;
  local)
    ensure_built; ensure_conf; format_if_new
    start_daemon master; start_daemon worker; wait_worker_registered
    echo "Local cluster is up. Try: $BIN/alluxio fs ls /   (stop: $BIN/alluxio-stop.sh local)" ;;
  local-ha) start_local_ha ;;
  master|worker) ensure_built; start_daemon "$1" ;;
  masters) ensure_built; on_hosts "$ALLUXIO_CONF_DIR/masters" master ;;
  workers) ensure_built; on_hosts "$ALLUXIO_CONF_DIR/workers" worker ;;
  all) ensure_built; on_hosts "$ALLUXIO_CONF_DIR/masters" master; on_hosts "$ALLUXIO_CONF_DIR/workers" worker ;;
  *) echo "alluxio-start.sh: unknown target '$1' (want local, local-ha, all, masters, workers, master or worker)" >&2; exit 2 ;;
esac
