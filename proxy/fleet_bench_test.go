package proxy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/fleet"
	"github.com/imsguard/imsguard/rego/fleet/fleettest"
)

// BenchmarkBundleActivation1000 activates imsguard bundles of 1,000 principals (the
// configuration of BenchmarkLoad1000Principals: 8 policies each from 64 files of 8
// statements) through OPA's bundle plugin in a running proxy: download from a bundle
// server, OPA's store, then imsguard's check — decode, validate, lint with [lint], compile,
// warm — and the swap. One op is one new revision, from the trigger to the swap. Cases:
//
//   - cold-shared-sets: no engine to reuse (a proxy's first bundle), principals share
//     policy sets (64 distinct);
//   - one-policy-changed: a revision that changes one of the 64 policy files, engines of
//     the policy sets it does not touch reused;
//   - cold-distinct-sets: every principal holds a policy set of its own.
//
// It reports the time of one activation, the bundle's size, and the heap the proxy keeps
// with the bundle active (OPA's store holding data.imsguard, the snapshot, the engines),
// measured after a GC against the proxy before its first bundle. Run with -benchtime 3x.
func BenchmarkBundleActivation1000(b *testing.B) {
	ctx := context.Background()
	rt, err := authz.Prepare(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		distinct    bool
		keepEngines bool
		change      bool
	}{
		{"cold-shared-sets", false, false, false},
		{"one-policy-changed", false, true, true},
		{"cold-distinct-sets", true, false, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			src := b.TempDir()
			writeBenchPolicies(b, src)
			cfgPath := writeManyPrincipals(b, src, tc.distinct)
			data, err := BundleData(cfgPath, nil)
			if err != nil {
				b.Fatal(err)
			}
			// variant v changes policies/p00.json (held by about 1 principal in 8)
			variant := func(v int) []byte {
				if !tc.change || v%2 == 0 {
					return data
				}
				return bytes.Replace(data, []byte(`"ims:images:list\"`), []byte(`"ims:images:get\"`), 1)
			}
			cp := fleettest.New()
			defer cp.Close()
			var eng *authz.Engines
			e := newEnv(b, "opa_config = \"opa.yaml\"\n"+baseConfig[:strings.Index(baseConfig, "default_principal")]+"[metrics]\nlisten = \"\"\n",
				map[string]string{"opa.yaml": "services:\n  cp:\n    url: " + cp.URL + "\nbundles:\n  imsguard:\n    service: cp\n    resource: /b.tar.gz\n    trigger: manual\n"},
				func(o *Options, l *Loader) {
					l.Runtime, eng = rt, rt.NewEngines()
					l.Engines = eng
					l.LookupEnv = func(string) (string, bool) { return "secret", true }
				})
			a := e.srv.agent.Load()
			var before, after, m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var took time.Duration
			var size int
			var allocated uint64
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				if !tc.keepEngines {
					e.srv.loader.Engines = rt.NewEngines()
				}
				rev := fmt.Sprintf("r%d", i)
				var buf bytes.Buffer
				if err := fleet.Write(&buf, variant(i), rev, nil); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
				cp.SetBundle("/b.tar.gz", buf.Bytes())
				runtime.ReadMemStats(&m0)
				b.StartTimer()
				t0 := time.Now()
				if err := a.Trigger(ctx); err != nil {
					b.Fatal(err)
				}
				took = time.Since(t0)
				b.StopTimer()
				runtime.ReadMemStats(&m1)
				allocated += m1.TotalAlloc - m0.TotalAlloc
				b.StartTimer()
				if got := e.srv.Snapshot().Revision; got != rev {
					b.Fatalf("revision %s not active (%s); log:\n%s", rev, got, e.oplog.String())
				}
			}
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(took.Milliseconds()), "ms/activation")
			b.ReportMetric(float64(size)/1024, "KiB-bundle")
			b.ReportMetric(float64(len(data))/1024, "KiB-data")
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "MiB-kept")
			b.ReportMetric(float64(allocated)/(1<<20)/float64(b.N), "MiB-allocated/activation")
			runtime.KeepAlive(e.srv.Snapshot())
			_ = eng
		})
	}
}

// writeBenchPolicies writes the 64 policy files of BenchmarkLoad1000Principals and
// BenchmarkBundleActivation1000: 8 statements each, with conditions, wildcards and a Deny.
func writeBenchPolicies(b *testing.B, dir string) {
	acts := []string{"ims:images:list", "ims:images:get", "ims:images:update", "ims:*:get*", "ims:images:share", "ims:quotas:get", "ims:serverImages:create", "ims:images:upload"}
	if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
		b.Fatal(err)
	}
	for p := range 64 {
		var stmts []string
		for s := range 8 {
			effect := "Allow"
			if s == 7 && p%2 == 1 {
				effect = "Deny"
			}
			cond := ""
			switch s % 3 {
			case 0:
				cond = `,"Condition":{"IpAddress":{"g:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}`
			case 1:
				cond = `,"Condition":{"DateLessThan":{"g:CurrentTime":["2030-01-01T00:00:00Z"]}}`
			}
			stmts = append(stmts, fmt.Sprintf(`{"Effect":%q,"Action":[%q]%s}`, effect, acts[(p+s)%len(acts)], cond))
		}
		text := `{"Version":"1.1","Statement":[` + strings.Join(stmts, ",") + `]}`
		if err := os.WriteFile(filepath.Join(dir, "policies", fmt.Sprintf("p%02d.json", p)), []byte(text), 0o600); err != nil {
			b.Fatal(err)
		}
	}
}
