package lint

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"

	"github.com/imsguard/imsguard/rego/opa"
)

// typicalPolicies are the documents BenchmarkLint cycles through: what custom IMS policies
// look like in practice (1-3 statements, a handful of actions, sometimes a Deny, a
// condition or the IAM API role wrapper), clean ones and ones with findings.
var typicalPolicies = []string{
	// read-only, explicit actions
	`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "ims:quotas:get"]}]}`,
	// read-only, wildcards
	`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:get*", "ims:*:list*"]}]}`,
	// image builder without its OBS/KMS dependencies (W-MISSING-DEPENDENT-ACTION)
	`{"Version": "1.1", "Statement": [
	  {"Effect": "Allow", "Action": ["ims:serverImages:create", "ims:images:list", "ims:images:get", "ecs:servers:get", "ecs:cloudServers:get", "evs:volumes:*"]},
	  {"Effect": "Deny", "Action": ["ims:images:delete"]}]}`,
	// the IAM API create request: a role wrapper with conditions and a Deny
	`{"role": {"display_name": "IMSImageReaders", "type": "XA", "description": "read images in office hours",
	  "policy": {"Version": "1.1", "Statement": [
	    {"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"],
	     "Condition": {"StringEquals": {"g:ProjectName": ["ae-ad-1"]}, "DateLessThan": {"g:CurrentTime": ["2030-01-01T00:00:00Z"]}}},
	    {"Effect": "Deny", "Action": ["ims:images:delete", "ims:images:share"]}]}}}`,
	// sharing administrator
	`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:share", "ims:images:get", "ims:images:list"]}]}`,
	// deny-only guard rail (I-DENY-ONLY)
	`{"Version": "1.1", "Statement": [{"Effect": "Deny", "Action": ["ims:images:delete", "ims:images:share", "ims:images:export"]}]}`,
	// uploader restricted by source address
	`{"Version": "1.1", "Statement": [
	  {"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get"]},
	  {"Effect": "Allow", "Action": ["ims:images:upload", "ims:images:update"], "Condition": {"IpAddress": {"g:SourceIp": ["10.0.0.0/8"]}}}]}`,
	// full access with MFA (I-BROAD-ALLOW)
	`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:*:*"], "Condition": {"Bool": {"g:MFAPresent": ["true"]}}}]}`,
	// export
	`{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:export", "ims:images:list", "ims:images:get"]}]}`,
	// typos (W-EFFECT-CASE, E-ACTION-UNREGISTERED, W-SERVICE-CASE, W-PARTIAL-API)
	`{"Version": "1.1", "Statement": [{"Effect": "allow", "Action": ["ims:image:list", "IMS:images:share"]}]}`,
}

// BenchmarkLint measures parse + lint of one typical document on one core: run it with
// -cpu 1. The "cli" variant cycles through typicalPolicies with the garbage collector
// settings `imsguard lint` runs with (BatchGC); "gogc-100" does the same with Go's default;
// "varied" lints 2,000 generated documents (variedPolicies) with BatchGC, so that
// the linter's memos of measured strings miss the way they do on a real corpus (condition
// values, role names, new action spellings). docs/cpu-s divides by the process CPU time,
// which other load on the machine does not inflate the way it inflates wall time.
func BenchmarkLint(b *testing.B) {
	typical := make([][]byte, len(typicalPolicies))
	for i, p := range typicalPolicies {
		typical[i] = []byte(p)
	}
	b.Run("cli", func(b *testing.B) {
		defer opa.BatchGC()()
		benchLint(b, typical)
	})
	b.Run("gogc-100", func(b *testing.B) {
		defer debug.SetGCPercent(debug.SetGCPercent(100))
		benchLint(b, typical)
	})
	b.Run("varied", func(b *testing.B) {
		defer opa.BatchGC()()
		benchLint(b, variedPolicies(2000))
	})
}

func benchLint(b *testing.B, data [][]byte) {
	ctx := context.Background()
	cat, err := actions.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	l, err := New(ctx, cat, Options{})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := range b.N {
		f := policy.Parse("p.json", data[i%len(data)])
		if _, err := l.Lint(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "docs/cpu-s")
	}
}

// variedPolicies generates n distinct policy documents (deterministically) shaped like
// typicalPolicies: one to three statements of IMS actions (sometimes with their
// dependencies, a wildcard, a typo or a Deny), conditions with fresh values (addresses,
// dates, project and user names), and now and then the IAM API role wrapper with a fresh
// name. Almost every document differs from the others, so memoized measurements of
// condition values and names miss as they would on a real corpus.
func variedPolicies(n int) [][]byte {
	rng := rand.New(rand.NewPCG(42, 7))
	imsActions := []string{
		"ims:images:list", "ims:images:get", "ims:images:update", "ims:images:delete", "ims:images:share",
		"ims:images:export", "ims:images:upload", "ims:images:copy", "ims:images:create", "ims:quotas:get",
		"ims:serverImages:create", "ims:dataImages:create", "ims:wholeImages:create",
	}
	extra := []string{
		"ims:*:get*", "ims:*:list*", "ims:images:*", "ims:*:*", "obs:bucket:*", "obs:object:*", "kms:*:*",
		"ecs:servers:get", "ecs:cloudServers:get", "evs:volumes:*", "ims:image:list", "IMS:images:share",
	}
	conditions := []func() string{
		func() string {
			return fmt.Sprintf(`{"IpAddress": {"g:SourceIp": ["10.%d.%d.0/24"]}}`, rng.IntN(256), rng.IntN(256))
		},
		func() string {
			return fmt.Sprintf(`{"DateLessThan": {"g:CurrentTime": ["20%02d-%02d-%02dT00:00:00Z"]}}`, 27+rng.IntN(10), 1+rng.IntN(12), 1+rng.IntN(28))
		},
		func() string {
			return fmt.Sprintf(`{"StringEquals": {"g:ProjectName": ["ae-ad-1_proj%d"]}}`, rng.IntN(100000))
		},
		func() string {
			return fmt.Sprintf(`{"StringEquals": {"g:UserName": ["user%d", "svc-%d"]}, "Bool": {"g:MFAPresent": ["true"]}}`, rng.IntN(100000), rng.IntN(1000))
		},
	}
	out := make([][]byte, n)
	for i := range out {
		var stmts []string
		for s := range 1 + rng.IntN(3) {
			effect := "Allow"
			if s > 0 && rng.IntN(3) == 0 {
				effect = "Deny"
			}
			var acts []string
			for range 1 + rng.IntN(5) {
				a := imsActions[rng.IntN(len(imsActions))]
				if rng.IntN(5) == 0 {
					a = extra[rng.IntN(len(extra))]
				}
				if !slices.Contains(acts, a) {
					acts = append(acts, a)
				}
			}
			quoted, _ := json.Marshal(acts)
			stmt := fmt.Sprintf(`{"Effect": %q, "Action": %s`, effect, quoted)
			if effect == "Allow" && rng.IntN(3) == 0 {
				stmt += `, "Condition": ` + conditions[rng.IntN(len(conditions))]()
			}
			stmts = append(stmts, stmt+"}")
		}
		doc := fmt.Sprintf(`{"Version": "1.1", "Statement": [%s]}`, strings.Join(stmts, ",\n  "))
		if rng.IntN(4) == 0 {
			doc = fmt.Sprintf(`{"role": {"display_name": "ims-role-%d", "type": "XA", "description": "generated %d", "policy": %s}}`, i, rng.IntN(1000000), doc)
		}
		out[i] = []byte(doc)
	}
	return out
}

// processCPU is the user+system CPU time of the process so far (0 where unsupported).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestVariedPolicies checks the generated benchmark corpus: (nearly all) distinct, well-formed
// documents that the linter reads as policies (a broken generator would measure the
// parser's error path instead).
func TestVariedPolicies(t *testing.T) {
	docs := variedPolicies(2000)
	seen := map[string]bool{}
	distinct := 0
	l := newTestLinter(t, Options{})
	codes := map[string]int{}
	for _, d := range docs {
		if !seen[string(d)] {
			distinct++
		}
		seen[string(d)] = true
		f := policy.Parse("p.json", d)
		require.Empty(t, f.Problems, "%s", d)
		require.Len(t, f.Documents, 1)
		fs, err := l.Lint(context.Background(), f)
		require.NoError(t, err)
		for _, x := range fs {
			codes[x.Code]++
		}
	}
	assert.Greater(t, distinct, 1900, "documents must differ (a few small ones repeat, as in a real corpus)")
	// Like typicalPolicies: mostly clean or with IMS-aware notes, some typos.
	assert.Positive(t, codes["W-MISSING-DEPENDENT-ACTION"])
	assert.Positive(t, codes["E-ACTION-UNREGISTERED"])
	assert.Less(t, codes["E-JSON"], 1)
}
