package conf_test

import (
	"fmt"

	"github.com/alluxio-go/alluxio/common/conf"
)

func ExampleFromMap() {
	c, err := conf.FromMap(map[string]string{
		"alluxio.home":                     "/opt/alluxio",
		"alluxio.user.rpc.retry.max.sleep": "5sec",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Get("alluxio.master.journal.folder"), c.Source("alluxio.master.journal.folder"))
	fmt.Println(c.GetDuration("alluxio.user.rpc.retry.max.sleep"), c.Source("alluxio.user.rpc.retry.max.sleep"))
	fmt.Println(conf.FormatBytes(c.GetBytes("alluxio.user.block.size.bytes.default")))

	_, err = c.With("alluxio.master.rpc.port", "abc")
	fmt.Println(err)
	// Output:
	// /opt/alluxio/journal default
	// 5s runtime
	// 64.00MB
	// conf: invalid value "abc" for alluxio.master.rpc.port (want a port number 0..65535) from runtime
}
