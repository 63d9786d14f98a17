package lint

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/imsguard/imsguard/policy"
)

// FuzzLint feeds arbitrary bytes through parse and lint: it must never fail or panic, every
// finding must have a known code and a position inside the file, and opening only the gates
// the document's facts call for (input.gate) must find exactly what opening every gate finds.
func FuzzLint(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "lint", "*", "*.json"))
	for _, n := range names {
		if data, err := os.ReadFile(n); err == nil && len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"role": {"policy": 7}}`))
	f.Add([]byte(`{"roles": [1, {"policy": {"Version": "1.0", "Statement": [{"Effect": "Allow", "Action": ["::"]}]}}]}`))
	f.Add([]byte(`{"policy_document": "{\"Version\": \"5.0\", \"Statement\": [{\"Effect\": \"Deny\", \"Action\": \"*\"}]}"}`))
	l := newTestLinter(f, Options{})
	open := newTestLinter(f, Options{})
	open.allGates = true
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := policy.Parse("fuzz.json", data)
		findings, err := l.Lint(ctx, file)
		if err != nil {
			t.Fatalf("lint: %v", err)
		}
		all, err := open.Lint(ctx, file)
		if err != nil {
			t.Fatalf("lint with every gate open: %v", err)
		}
		if !reflect.DeepEqual(findings, all) {
			t.Fatalf("gating changed the findings:\n gated: %+v\n open:  %+v", findings, all)
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
