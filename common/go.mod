module github.com/alluxio-go/alluxio/common

go 1.26.0

require (
	github.com/go-zookeeper/zk v1.0.4
	golang.org/x/sys v0.48.0
	google.golang.org/grpc v1.85.0
)

require (
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/alluxio-go/alluxio/proto => ../proto
