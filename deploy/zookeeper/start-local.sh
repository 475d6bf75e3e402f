#!/usr/bin/env bash
# Starts one local ZooKeeper server with its own configuration and data in a
# directory of its own (a new temporary one by default), for development and
# the local multi-master demo. Prints the server address (host:port) on
# stdout once the server answers "ruok" with "imok".
#
#   deploy/zookeeper/start-local.sh [-p PORT] [-d DIR] [-t TICK_MS] [-f]
#     -p PORT     client port (default 2181)
#     -d DIR      configuration, data and log directory (default: mktemp -d)
#     -t TICK_MS  tickTime in ms (default 200; sessions may last 2 to 20 ticks)
#     -f          run in the foreground instead of in the background
#   Stop a background server with: kill "$(cat DIR/zookeeper.pid)"
set -euo pipefail

port=2181 dir="" tick=200 foreground=0
while getopts "p:d:t:fh" opt; do
  case $opt in
    p) port=$OPTARG ;;
    d) dir=$OPTARG ;;
    t) tick=$OPTARG ;;
    f) foreground=1 ;;
    h) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done

jar=${ZOOKEEPER_JAR:-/usr/share/java/zookeeper.jar}
if [[ ! -f "$jar" ]] || ! command -v java >/dev/null 2>&1; then
  echo "start-local.sh: ZooKeeper or java not installed; run: sudo $(dirname "$0")/install.sh (apt-get install -y zookeeper)" >&2
  exit 1
fi

ruok() { # prints the server's answer to ruok, or nothing
  ( exec 3<>"/dev/tcp/127.0.0.1/$1" && printf ruok >&3 && timeout 1 cat <&3 ) 2>/dev/null || true
}
if ( exec 3<>"/dev/tcp/127.0.0.1/$port" ) 2>/dev/null; then
  echo "start-local.sh: port $port is already in use (another ZooKeeper? try -p)" >&2
  exit 1
fi

dir=${dir:-$(mktemp -d -t alluxio-zk.XXXXXX)}
mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)
cat >"$dir/zoo.cfg" <<CFG
tickTime=$tick
initLimit=20
syncLimit=10
dataDir=$dir/data
clientPort=$port
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
CFG

# The jar's manifest names its dependencies; slf4j-simple sends the server
# log to stderr (otherwise SLF4J discards it).
cp="$dir:$jar"
[[ -f /usr/share/java/slf4j-simple.jar ]] && cp="$cp:/usr/share/java/slf4j-simple.jar"
cmd=(java -Xmx512m -Dzookeeper.admin.enableServer=false -cp "$cp"
     org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg")

if [[ $foreground -eq 1 ]]; then
  echo "ZooKeeper at 127.0.0.1:$port (dir $dir), in the foreground" >&2
  exec "${cmd[@]}"
fi

nohup "${cmd[@]}" >>"$dir/zookeeper.log" 2>&1 &
pid=$!
echo "$pid" >"$dir/zookeeper.pid"
for _ in $(seq 300); do # up to 30s
  if [[ $(ruok "$port") == imok ]]; then
    echo "ZooKeeper pid $pid serving; dir $dir; log $dir/zookeeper.log; stop: kill \$(cat $dir/zookeeper.pid)" >&2
    echo "127.0.0.1:$port"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start-local.sh: ZooKeeper exited; last log lines:" >&2
    tail -n 20 "$dir/zookeeper.log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "start-local.sh: ZooKeeper not serving after 30s; see $dir/zookeeper.log" >&2
kill "$pid" 2>/dev/null || true
exit 1
