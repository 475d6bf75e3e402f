#!/usr/bin/env bash
# Regenerates the Go code from src/**/*.proto with protoc (Debian's
# protobuf-compiler) and protoc-gen-go / protoc-gen-go-grpc at the versions
# pinned below, fetched from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")"
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.0
bin="$(pwd)/.bin"
mkdir -p "$bin"
if ! command -v protoc >/dev/null; then
  echo "protoc not found: apt-get install -y protobuf-compiler" >&2
  exit 1
fi
GOBIN="$bin" GOWORK=off go install google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION
GOBIN="$bin" GOWORK=off go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION
export PATH="$bin:$PATH"
rm -rf alluxiopb journalpb
protoc -I src \
  --go_out=. --go_opt=module=github.com/alluxio-go/alluxio/proto \
  --go-grpc_out=. --go-grpc_opt=module=github.com/alluxio-go/alluxio/proto \
  src/alluxio/*.proto src/journal/*.proto
