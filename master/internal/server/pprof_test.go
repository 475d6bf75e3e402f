package server

import (
	"net/http"
	"testing"
)

// TestPprofOptIn checks that the web port serves Go's profiles only with
// alluxio.master.debug.pprof.enabled=true.
func TestPprofOptIn(t *testing.T) {
	for _, on := range []bool{false, true} {
		v := "false"
		want := http.StatusNotFound
		if on {
			v, want = "true", http.StatusOK
		}
		e := newEnv(t, "alluxio.master.debug.pprof.enabled", v)
		resp, err := http.Get("http://" + e.srv.WebAddr() + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("pprof enabled=%v: /debug/pprof/cmdline answered %d, want %d", on, resp.StatusCode, want)
		}
	}
}
