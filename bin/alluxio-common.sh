#!/usr/bin/env bash
# Shared by alluxio-start.sh and alluxio-stop.sh: locations, environment and
# pid-file helpers. Sourced, never run.

ALLUXIO_HOME="${ALLUXIO_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export ALLUXIO_HOME
export ALLUXIO_CONF_DIR="${ALLUXIO_CONF_DIR:-$ALLUXIO_HOME/conf}"
if [[ -f "$ALLUXIO_CONF_DIR/alluxio-env.sh" ]]; then
  # shellcheck disable=SC1091
  . "$ALLUXIO_CONF_DIR/alluxio-env.sh"
fi
export ALLUXIO_LOGS_DIR="${ALLUXIO_LOGS_DIR:-$ALLUXIO_HOME/logs}"
ALLUXIO_PID_DIR="${ALLUXIO_PID_DIR:-$ALLUXIO_HOME/run}"
BIN="$ALLUXIO_HOME/bin"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# pid_file NAME -> path of the pid file for process NAME (master, worker, or
# master-1, master-2, ... for several masters on one host).
pid_file() { echo "$ALLUXIO_PID_DIR/alluxio-$1.pid"; }

# kind NAME -> the binary a process name runs: master-2 -> master.
kind() { echo "${1%%-*}"; }

# running NAME: true when the pid file names a live process of our binary;
# prints the pid.
running() {
  local f pid
  f=$(pid_file "$1")
  [[ -f "$f" ]] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "alluxio-$(kind "$1")" || return 1
  echo "$pid"
}

# Local fault-tolerant demo (alluxio-start.sh local-ha): one ZooKeeper and
# three masters on this host, on these ports; ZooKeeper's data and pid file
# live in LOCAL_HA_ZK_DIR.
LOCAL_HA_ZK_PORT="${ALLUXIO_LOCAL_HA_ZK_PORT:-2181}"
LOCAL_HA_MASTER_PORTS="${ALLUXIO_LOCAL_HA_MASTER_PORTS:-19998,20998,21998}"
LOCAL_HA_ZK_DIR="${ALLUXIO_LOCAL_HA_ZK_DIR:-$ALLUXIO_PID_DIR/zookeeper}"

# local_ha_opts: the -D items that put a process of the local HA demo in
# fault-tolerant mode with the local ZooKeeper.
local_ha_opts() {
  echo "-Dalluxio.zookeeper.enabled=true -Dalluxio.zookeeper.address=127.0.0.1:$LOCAL_HA_ZK_PORT"
}

# is_local HOST: true when HOST names this machine.
is_local() {
  case "$1" in
    localhost|127.*|::1|"$(hostname)"|"$(hostname -f 2>/dev/null)") return 0 ;;
  esac
  hostname -I 2>/dev/null | tr ' ' '\n' | grep -qx "$1"
}

# hosts FILE: the host names in a conf/masters or conf/workers file.
hosts() {
  [[ -f "$1" ]] || die "host list $1 not found (copy deploy/$(basename "$1") to $ALLUXIO_CONF_DIR)"
  sed -e 's/#.*//' -e 's/[[:space:]]//g' "$1" | grep -v '^$'
}
