package rego

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/imsguard/imsguard/policy"
)

// FuzzLint feeds arbitrary bytes through parse and lint: it must never fail or panic, and
// every finding must have a known code and a position inside the file.
func FuzzLint(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("..", "testdata", "lint", "*", "*.json"))
	for _, n := range names {
		if data, err := os.ReadFile(n); err == nil && len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"role": {"policy": 7}}`))
	f.Add([]byte(`{"roles": [1, {"policy": {"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["::"]}]}}]}`))
	f.Add([]byte(`{"policy_document": "{\"Version\": \"5.0\", \"Statement\": [{\"Effect\": \"Deny\", \"Action\": \"*\"}]}"}`))
	l := newTestLinter(f, LintOptions{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := policy.Parse("fuzz.json", data)
		findings, err := l.Lint(ctx, file)
		if err != nil {
			t.Fatalf("lint: %v", err)
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, fd := range findings {
			if _, ok := l.Rule(fd.Code); !ok {
				t.Fatalf("unknown code %s", fd.Code)
			}
			if fd.Line < 1 || fd.Column < 1 || fd.Line > lines {
				t.Fatalf("%s at %d:%d outside the file (%d lines), pointer %q", fd.Code, fd.Line, fd.Column, lines, fd.Pointer)
			}
			if fd.Message == "" {
				t.Fatalf("%s without a message", fd.Code)
			}
		}
	})
}
