// Package hdfstest starts a real single-node HDFS for integration tests.
//
// It never mocks HDFS: Start runs deploy/hdfs/start.sh --foreground, which
// runs Hadoop's MiniDFSCluster (the real NameNode and DataNode code, Apache
// Hadoop 3.4.1 jars resolved from Maven Central by deploy/hdfs/fetch.sh and
// cached in ~/.m2) in one JVM with its data under t.TempDir(), on loopback
// ports. Readiness is polled (the launcher writes the cluster's URI to a file
// once the NameNode has left safe mode and the DataNode has registered);
// nothing sleeps for a fixed time.
//
//	c := hdfstest.Start(t)
//	u, err := ufs.NewRegistry().Open(ctx, c.URI+"/data", nil)
//	...
//	c.Restart() // HDFS down and back on the same port with the same files
//
// WithHA starts two NameNodes as the HA nameservice hdfs://minihdfs instead,
// with the client configuration in Cluster.HAConfDir (for HADOOP_CONF_DIR)
// and Cluster.Failover to switch the active NameNode.
//
// Start runs deploy/hdfs/fetch.sh first (a no-op once the jars are cached).
// If java, javac or mvn is missing, or the jars cannot be fetched, the test
// fails with the command that fixes it; it never skips (except with
// go test -short, the project's unit-only tier, where it says so). The environment
// variable ALLUXIO_HDFS_DEPLOY names the deploy/hdfs directory when the test
// does not run inside the repository.
//
// The JVM runs in its own process group, dies with the test binary
// (Pdeathsig, and it stops when its standard input closes), and is stopped
// by t.Cleanup. When a test fails, the tail of the cluster's log is shown.
package hdfstest
