// Package datawire holds the wire constants of the worker's data server
// (alluxio.worker.data.port), which the worker (worker/internal/server)
// serves and the client library speaks; the framing is described in
// worker/internal/server/dataserver.go. One definition keeps both ends in
// agreement.
package datawire

const (
	// OpRead and OpWrite are the first byte of a request.
	OpRead  byte = 1
	OpWrite byte = 2
	// Cancel, sent as a chunk length, aborts a write.
	Cancel uint32 = 0xFFFFFFFF
	// MaxHeader bounds request and response headers.
	MaxHeader = 64 << 10
)
