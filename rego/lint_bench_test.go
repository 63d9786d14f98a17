package rego

import (
	"context"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
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

// BenchmarkLint measures parse + lint of one typical document (cycling through
// typicalPolicies) on one core: run it with -cpu 1. The "cli" variant uses the garbage
// collector settings `imsguard lint` runs with (BatchGC); the "gogc-100" variant uses Go's
// default. docs/cpu-s divides by the process CPU time, which other load on the machine does
// not inflate the way it inflates wall time.
func BenchmarkLint(b *testing.B) {
	b.Run("cli", func(b *testing.B) {
		defer BatchGC()()
		benchLint(b)
	})
	b.Run("gogc-100", func(b *testing.B) {
		defer debug.SetGCPercent(debug.SetGCPercent(100))
		benchLint(b)
	})
}

func benchLint(b *testing.B) {
	ctx := context.Background()
	cat, err := actions.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewLinter(ctx, cat, LintOptions{})
	if err != nil {
		b.Fatal(err)
	}
	data := make([][]byte, len(typicalPolicies))
	for i, p := range typicalPolicies {
		data[i] = []byte(p)
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

// processCPU is the user+system CPU time of the process so far (0 where unsupported).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
