// Package hostile holds TestIntegrationHostileInput: it starts one real
// alluxio-master and one alluxio-worker on loopback and sends every RPC of
// their gRPC services malformed, oversized and out-of-range requests through
// raw alluxiopb clients, asserting a fitting status code (never Unknown or
// Internal, never a hang), and that both processes still serve a normal
// create, write and read afterwards. It also fills a worker tier mid-write
// and checks that no partial block becomes visible.
//
// The binaries come from $ALLUXIO_BIN_DIR (make test sets it to bin/) or are
// built into a temporary directory. The package has its own small harness
// rather than importing the e2e package's test files.
package hostile
