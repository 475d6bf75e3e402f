// Package proto holds the protobuf definitions (src/) of the Alluxio-Go wire
// protocol and journal format. The generated Go code lives in the alluxiopb
// (gRPC services) and journalpb (journal entries) packages; regenerate it with
// `make proto`.
package proto
