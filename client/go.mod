module github.com/alluxio-go/alluxio/client

go 1.26.0

require github.com/alluxio-go/alluxio/proto v0.0.0

replace github.com/alluxio-go/alluxio/proto => ../proto

require github.com/alluxio-go/alluxio/common v0.0.0

replace github.com/alluxio-go/alluxio/common => ../common
