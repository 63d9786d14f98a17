package proxy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imsguard/imsguard/rego/authz"
)

// benchPrincipals is the number of principals BenchmarkLoad1000Principals configures.
var benchPrincipals = 1000

// BenchmarkLoad1000Principals loads (and compiles) a configuration of 1,000 principals ×
// 8 policies — drawn from 64 policy files of 8 statements with conditions, wildcards and a
// Deny — as start-up and every reload do, and reports the time of one load and the heap
// the snapshot keeps: a cold load where principals share policy sets (64 distinct), a
// reload with nothing changed, and a cold load where every principal's set differs. Run
// with -benchtime 1x: go test -run '^$' -bench Load1000Principals -benchtime 1x ./proxy/.
func BenchmarkLoad1000Principals(b *testing.B) {
	dir := b.TempDir()
	writeBenchPolicies(b, dir)
	ctx := context.Background()
	rt, err := authz.Prepare(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		distinct bool // every principal holds its own policy set (no two alike)
		reload   bool // the engines of an identical previous load are reused
	}{
		{"cold-shared-sets", false, false},
		{"reload-unchanged", false, true},
		{"cold-distinct-sets", true, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfgPath := writeManyPrincipals(b, dir, tc.distinct)
			l := &Loader{ConfigPath: cfgPath, Catalog: testCatalog(b), Runtime: rt, Linters: sharedLinters(b), Engines: rt.NewEngines()}
			if _, err := l.Load(ctx); err != nil { // lint rules compiled, memo filled
				b.Fatal(err)
			}
			var snap *Snapshot
			var before, loaded, after runtime.MemStats
			var allocated uint64 // bytes allocated by the loads, summed
			var took time.Duration
			b.ResetTimer()
			for range b.N {
				if !tc.reload {
					l.Engines = rt.NewEngines()
				}
				snap = nil
				runtime.GC()
				runtime.ReadMemStats(&before)
				t0 := time.Now()
				if snap, err = l.Load(ctx); err != nil {
					b.Fatal(err)
				}
				took = time.Since(t0)
				runtime.ReadMemStats(&loaded)
				allocated += loaded.TotalAlloc - before.TotalAlloc
			}
			b.StopTimer()
			l.Engines = nil
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(took.Milliseconds()), "ms/load")
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "MiB-kept")
			b.ReportMetric(float64(allocated)/(1<<20)/float64(b.N), "MiB-allocated/load")
			runtime.KeepAlive(snap)
		})
	}
}

// writeManyPrincipals writes imsguard.toml with benchPrincipals principals of 8 policies
// each; distinct gives each principal one more attachment of its own.
func writeManyPrincipals(b *testing.B, dir string, distinct bool) string {
	var cfg strings.Builder
	cfg.WriteString("listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:1\"\n[metrics]\nlisten = \"\"\n")
	for i := range benchPrincipals {
		fmt.Fprintf(&cfg, "\n[[principals]]\nname = \"svc-%04d\"\nusers = [\"user-%04d\"]\npolicies = [", i, i)
		for k := range 8 {
			if k > 0 {
				cfg.WriteString(", ")
			}
			fmt.Fprintf(&cfg, "\"policies/p%02d.json\"", (i*7+k*13)%64)
		}
		cfg.WriteString("]\n")
		if distinct {
			fmt.Fprintf(&cfg, "[[principals.attachments]]\npolicy = \"policies/p%02d.json\"\nscope = \"project\"\nprojects = [\"ae-ad-1_p%04d\"]\n", i%64, i)
		}
	}
	p := filepath.Join(dir, "imsguard.toml")
	if err := os.WriteFile(p, []byte(cfg.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}
