// Package e2e holds end-to-end tests that run the real binaries (alluxio,
// alluxio-master, alluxio-worker) as separate processes on loopback, the way
// an operator runs them. The binaries come from $ALLUXIO_BIN_DIR (make test
// sets it to bin/) or are built into a temporary directory.
package e2e
