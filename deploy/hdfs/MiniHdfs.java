// MiniHdfs runs a real single-node HDFS (one NameNode, one DataNode) with
// Hadoop's MiniDFSCluster, which starts the real NameNode and DataNode code
// in this JVM. start.sh compiles it with javac at run time against the jars
// that fetch.sh resolved; see README.md.
//
// Usage: java -cp CLASSES:JARS MiniHdfs --dir DIR [--port N] [--uri-file F]
//            [--exit-on-stdin-close] [-Dkey=value ...]
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
// -Dkey=value   extra Hadoop configuration.
//
// SIGTERM (and SIGINT) shut the cluster down cleanly.
// Exit status 0 after a clean stop, 1 on a start-up failure, 2 on bad usage.
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

public final class MiniHdfs {
  private MiniHdfs() {}

  public static void main(String[] args) throws Exception {
    File dir = null;
    int port = 0;
    File uriFile = null;
    boolean exitOnStdinClose = false;
    Map<String, String> extra = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--dir") && i + 1 < args.length) {
        dir = new File(args[++i]).getAbsoluteFile();
      } else if (a.equals("--port") && i + 1 < args.length) {
        port = Integer.parseInt(args[++i]);
      } else if (a.equals("--uri-file") && i + 1 < args.length) {
        uriFile = new File(args[++i]).getAbsoluteFile();
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
      cluster = new MiniDFSCluster.Builder(conf, base)
          .nameNodePort(port)
          .numDataNodes(1)
          .format(format)
          .checkDataNodeAddrConfig(true)
          .waitSafeMode(true)
          .build();
      cluster.waitActive();
    } catch (Throwable e) {
      System.err.println("minihdfs: start failed: " + e);
      e.printStackTrace();
      System.exit(1);
      return;
    }
    String uri = "hdfs://127.0.0.1:" + cluster.getNameNodePort();

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
    if (exitOnStdinClose) {
      Thread w = new Thread(() -> {
        InputStream in = System.in;
        byte[] buf = new byte[256];
        try {
          while (in.read(buf) >= 0) {
            // ignore input
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
      File tmp = new File(uriFile.getPath() + ".tmp");
      Files.write(tmp.toPath(), (uri + "\n").getBytes(StandardCharsets.UTF_8));
      Files.move(tmp.toPath(), uriFile.toPath(), StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
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
}
