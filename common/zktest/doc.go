// Package zktest starts real Apache ZooKeeper servers for integration tests.
//
// It never mocks ZooKeeper: Start runs one JVM per server from the Debian
// "zookeeper" package (/usr/share/java/zookeeper.jar and the jars its manifest
// names), each with its own zoo.cfg, data directory and log file under
// t.TempDir(), on free loopback ports. The ports are picked below the
// kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), so an
// outgoing connection on a busy machine cannot take one between its choice
// and the server's bind, nor while a server is stopped; if a server still
// reports "Address already in use", Start tries again on other ports and
// StartServer (whose ports are fixed) waits for them to be free. Servers are started with the server
// class directly, as the packaged zkServer.sh misparses --config:
//
//	java -cp CONFDIR:/usr/share/java/zookeeper.jar:... \
//	    org.apache.zookeeper.server.quorum.QuorumPeerMain CONFDIR/zoo.cfg
//
// Readiness is polled with the four-letter words "ruok" (answer "imok") and
// "srvr" (a "Mode:" line once the server serves requests); nothing sleeps for
// a fixed time. The default tickTime is 200ms, so sessions may be as short as
// 400ms (2 x tickTime) and as long as 4s (20 x tickTime); WithTickTime changes
// it.
//
// If java or the ZooKeeper jar is missing the harness fails the test with
// the command that installs them (apt-get install -y zookeeper) rather than
// skipping. The environment variables ZOOKEEPER_JAR (path of zookeeper.jar)
// and ZOOKEEPER_CLASSPATH (extra classpath entries) override discovery.
//
// Proxy is a TCP proxy for fault injection: putting one between a client
// and a server lets a test cut the client off without the client closing its
// session, which is how a crashed or partitioned process looks to ZooKeeper.
package zktest
