#!/usr/bin/env bash
# Installs Apache ZooKeeper (Debian/Ubuntu package "zookeeper", which brings a
# Java runtime) if it is not installed yet. Idempotent; run as root.
#
#   sudo deploy/zookeeper/install.sh
set -euo pipefail

jar=/usr/share/java/zookeeper.jar
if [[ -f "$jar" ]] && command -v java >/dev/null 2>&1; then
  echo "zookeeper already installed: $(readlink -f "$jar")" >&2
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install.sh: must run as root (try: sudo $0)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install.sh: apt-get not found; install ZooKeeper 3.8 and Java 11+ with your package manager" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y zookeeper
# The package may enable a system service on port 2181; the tests and
# start-local.sh run their own servers and do not need it.
echo "zookeeper installed: $(readlink -f "$jar")" >&2
