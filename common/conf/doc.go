// Package conf is the configuration system shared by masters, workers and
// clients. It keeps Alluxio's property names and sources so that an Alluxio
// operator's files and environment work unchanged.
//
// Every key is described once, in the table returned by Properties (name,
// type, default, scope, environment variable, description). Load merges,
// lowest to highest precedence:
//
//  1. the defaults of the table;
//  2. alluxio-site.properties in the configuration directory (Java
//     properties syntax);
//  3. environment variables named in the table's EnvVar column, from the
//     process environment or, when unset there, from simple assignments in
//     alluxio-env.sh in the configuration directory (parsed, never executed);
//  4. -Dkey=value items of ALLUXIO_JAVA_OPTS, then of the per-process variable
//     of the scope (ALLUXIO_MASTER_JAVA_OPTS, ALLUXIO_WORKER_JAVA_OPTS,
//     ALLUXIO_USER_JAVA_OPTS); other JVM options are ignored;
//  5. LoadOptions.Flags.
//
// Values may refer to other keys as ${alluxio.home}. After expansion every
// value is validated for its type, so the getters never fail; an invalid
// value is reported as one line naming the key, the value, what was expected
// and where the value came from. Unknown alluxio.* keys are logged as
// warnings and listed by Config.Unknown.
//
// Durations use Alluxio's notation ("500ms", "60s", "60sec", "2min", "1h",
// "1day"; a bare number is milliseconds) and sizes too ("64MB", "1.5GB",
// "512KB"; a bare number is bytes; units are powers of 1024).
package conf
