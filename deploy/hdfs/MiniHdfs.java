// MiniHdfs runs a real single-node HDFS (one NameNode, one DataNode) with
// Hadoop's MiniDFSCluster, which starts the real NameNode and DataNode code
// in this JVM. start.sh compiles it with javac at run time against the jars
// that fetch.sh resolved; see README.md.
//
// Usage: java -cp CLASSES:JARS MiniHdfs --dir DIR [--port N] [--uri-file F]
//            [--exit-on-stdin-close] [--ha] [-Dkey=value ...]
//
// --dir DIR     all state lives under DIR/hdfs (name-0-*, data); a DIR that already holds a
//               formatted NameNode is started again without formatting, so a
//               stop and start keeps the files.
// --port N      the NameNode RPC port on 127.0.0.1 (0, the default: a free one).
// --uri-file F  when the cluster serves (NameNode out of safe mode, DataNode
//               registered), "hdfs://127.0.0.1:PORT" is written to F (to a
//               temporary name, then renamed, so readers never see half a
//               line). It is deleted again when the cluster stops.
// --exit-on-stdin-close  stop when standard input reaches end of file (the
//               test harness holds a pipe, so the JVM goes when the test does).
// --ha          two NameNodes (nn1 active, nn2 standby, a shared edits
//               directory) forming the HA nameservice "minihdfs": the URI is
//               hdfs://minihdfs, DIR/conf gets a client core-site.xml and
//               hdfs-site.xml (for HADOOP_CONF_DIR), DIR/active names the
//               active NameNode, and the line "failover" on standard input
//               (with --exit-on-stdin-close) makes the other one active.
// -Dkey=value   extra Hadoop configuration.
//
// SIGTERM (and SIGINT) shut the cluster down cleanly.
// Exit status 0 after a clean stop, 1 on a start-up failure, 2 on bad usage.
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.MiniDFSNNTopology;

public final class MiniHdfs {
  private MiniHdfs() {}

  public static void main(String[] args) throws Exception {
    File dir = null;
    int port = 0;
    File uriFile = null;
    boolean exitOnStdinClose = false;
    boolean ha = false;
    Map<String, String> extra = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--dir") && i + 1 < args.length) {
        dir = new File(args[++i]).getAbsoluteFile();
      } else if (a.equals("--port") && i + 1 < args.length) {
        port = Integer.parseInt(args[++i]);
      } else if (a.equals("--uri-file") && i + 1 < args.length) {
        uriFile = new File(args[++i]).getAbsoluteFile();
      } else if (a.equals("--ha")) {
        ha = true;
      } else if (a.equals("--exit-on-stdin-close")) {
        exitOnStdinClose = true;
      } else if (a.startsWith("-D") && a.indexOf('=') > 2) {
        int eq = a.indexOf('=');
        extra.put(a.substring(2, eq), a.substring(eq + 1));
      } else {
        System.err.println("minihdfs: unknown or incomplete argument: " + a);
        System.err.println("usage: MiniHdfs --dir DIR [--port N] [--uri-file F]"
            + " [--exit-on-stdin-close] [-Dkey=value ...]");
        System.exit(2);
      }
    }
    if (dir == null) {
      System.err.println("minihdfs: --dir is required");
      System.exit(2);
    }

    Configuration conf = new Configuration();
    // Small and fast: one replica, no safe-mode extension, quick heartbeats,
    // everything on loopback, state under DIR.
    conf.set("hadoop.tmp.dir", new File(dir, "tmp").getPath());
    conf.setInt("dfs.replication", 1);
    conf.setInt("dfs.namenode.safemode.extension", 0);
    conf.setInt("dfs.heartbeat.interval", 1);
    conf.setInt("dfs.namenode.heartbeat.recheck-interval", 5000);
    conf.setBoolean("dfs.namenode.name.cache.threshold.enabled", false);
    conf.setInt("dfs.namenode.handler.count", 10);
    conf.setInt("dfs.datanode.handler.count", 3);
    conf.setBoolean("dfs.permissions.enabled", true);
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.set("dfs.datanode.http.address", "127.0.0.1:0");
    conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
    conf.set("dfs.datanode.address", "127.0.0.1:0");
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    // Clients (the Go one too) reach the DataNode by the address it
    // registered with, which is the loopback one.
    conf.setBoolean("dfs.client.use.datanode.hostname", false);
    for (Map.Entry<String, String> e : extra.entrySet()) {
      conf.set(e.getKey(), e.getValue());
    }

    // MiniDFSCluster owns DIR/hdfs (it empties its base directory when it
    // formats) and keeps the NameNode's metadata in DIR/hdfs/name-0-1 and
    // name-0-2; a formatted one has current/VERSION.
    File base = new File(dir, "hdfs");
    boolean format = !new File(base, "name-0-1/current/VERSION").exists();
    long t0 = System.nanoTime();
    MiniDFSCluster cluster;
    try {
      MiniDFSCluster.Builder b = new MiniDFSCluster.Builder(conf, base)
          .numDataNodes(1)
          .format(format)
          .checkDataNodeAddrConfig(true)
          .waitSafeMode(true);
      if (ha) {
        b.nnTopology(MiniDFSNNTopology.simpleHATopology());
      } else {
        b.nameNodePort(port);
      }
      cluster = b.build();
      if (ha) {
        cluster.transitionToActive(0);
      }
      cluster.waitActive();
    } catch (Throwable e) {
      System.err.println("minihdfs: start failed: " + e);
      e.printStackTrace();
      System.exit(1);
      return;
    }
    try {
      serve(cluster, ha, dir, uriFile, exitOnStdinClose, format, t0);
    } catch (Throwable e) {
      // Hadoop's threads would keep the JVM alive: exit.
      System.err.println("minihdfs: " + e);
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static void serve(MiniDFSCluster cluster, boolean ha, File dir, File uriFile,
      boolean exitOnStdinClose, boolean format, long t0) throws Exception {
    String uri;
    if (ha) {
      uri = "hdfs://" + NAMESERVICE;
      writeClientConf(dir, cluster);
      writeAtomically(new File(dir, "active"), "nn1");
    } else {
      uri = "hdfs://127.0.0.1:" + cluster.getNameNodePort();
    }

    // Stop on SIGTERM, SIGINT or (with --exit-on-stdin-close) the end of
    // standard input. The main thread shuts the cluster down; a JVM shutdown
    // hook cannot, as MiniDFSCluster removes hooks of its own while stopping.
    CountDownLatch stop = new CountDownLatch(1);
    sun.misc.SignalHandler onSignal = sig -> {
      System.err.println("minihdfs: SIG" + sig.getName());
      stop.countDown();
    };
    sun.misc.Signal.handle(new sun.misc.Signal("TERM"), onSignal);
    sun.misc.Signal.handle(new sun.misc.Signal("INT"), onSignal);
    final MiniDFSCluster haCluster = ha ? cluster : null;
    final File haDir = dir;
    if (exitOnStdinClose) {
      Thread w = new Thread(() -> {
        try (java.io.BufferedReader in = new java.io.BufferedReader(
            new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            if (line.trim().equals("failover") && haCluster != null) {
              failover(haCluster, haDir);
            }
          }
        } catch (IOException e) {
          // treat as closed
        }
        System.err.println("minihdfs: standard input closed");
        stop.countDown();
      }, "minihdfs-stdin");
      w.setDaemon(true);
      w.start();
    }

    if (uriFile != null) {
      writeAtomically(uriFile, uri);
    }
    System.err.printf("minihdfs: serving %s (formatted: %b, started in %d ms)%n",
        uri, format, (System.nanoTime() - t0) / 1_000_000);
    System.out.println(uri);
    System.out.flush();

    stop.await();
    System.err.println("minihdfs: stopping " + uri);
    if (uriFile != null) {
      uriFile.delete();
    }
    int status = 0;
    try {
      // Not cluster.shutdown(): it marks the whole data directory for
      // deletion when the JVM exits, and a restart must find the files.
      cluster.shutdownDataNodes();
      cluster.shutdownNameNodes();
    } catch (Throwable e) {
      System.err.println("minihdfs: shutdown: " + e);
      status = 1;
    }
    System.err.println("minihdfs: stopped");
    System.exit(status);
  }

  private static final String NAMESERVICE = "minihdfs";

  // writeAtomically writes line to f through a temporary name and a rename.
  private static void writeAtomically(File f, String line) throws IOException {
    File tmp = new File(f.getPath() + ".tmp");
    Files.write(tmp.toPath(), (line + "\n").getBytes(StandardCharsets.UTF_8));
    Files.move(tmp.toPath(), f.toPath(), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  // writeClientConf writes DIR/conf/{core,hdfs}-site.xml describing the HA
  // nameservice, for clients (HADOOP_CONF_DIR=DIR/conf).
  private static void writeClientConf(File dir, MiniDFSCluster cluster) throws IOException {
    File conf = new File(dir, "conf");
    conf.mkdirs();
    List<String> core = new ArrayList<>();
    core.add(prop("fs.defaultFS", "hdfs://" + NAMESERVICE));
    List<String> hdfs = new ArrayList<>();
    hdfs.add(prop("dfs.nameservices", NAMESERVICE));
    hdfs.add(prop("dfs.ha.namenodes." + NAMESERVICE, "nn1,nn2"));
    for (int i = 0; i < 2; i++) {
      hdfs.add(prop("dfs.namenode.rpc-address." + NAMESERVICE + ".nn" + (i + 1),
          "127.0.0.1:" + cluster.getNameNodePort(i)));
    }
    hdfs.add(prop("dfs.client.failover.proxy.provider." + NAMESERVICE,
        "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider"));
    writeXml(new File(conf, "core-site.xml"), core);
    writeXml(new File(conf, "hdfs-site.xml"), hdfs);
  }

  private static String prop(String k, String v) {
    return "  <property><name>" + k + "</name><value>" + v + "</value></property>";
  }

  private static void writeXml(File f, List<String> props) throws IOException {
    StringBuilder b = new StringBuilder("<?xml version=\"1.0\"?>\n<configuration>\n");
    for (String p : props) {
      b.append(p).append('\n');
    }
    b.append("</configuration>");
    writeAtomically(f, b.toString());
  }

  // failover makes the standby NameNode active and the active one standby.
  private static synchronized void failover(MiniDFSCluster cluster, File dir) {
    try {
      int active = cluster.getNameNode(0).isActiveState() ? 0 : 1;
      int next = 1 - active;
      cluster.transitionToStandby(active);
      cluster.transitionToActive(next);
      writeAtomically(new File(dir, "active"), "nn" + (next + 1));
      System.err.println("minihdfs: failover: nn" + (next + 1) + " is active");
    } catch (Throwable e) {
      System.err.println("minihdfs: failover failed: " + e);
      e.printStackTrace();
    }
  }
}
