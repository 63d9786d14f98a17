package rego

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
)

func protoModule() string {
	var b strings.Builder
	b.WriteString("package proto\n\n")
	for i := range 10 {
		fmt.Fprintf(&b, "findings contains {\"code\": \"D%d\"} if {\n\tinput.doc.v == \"bad%d\"\n}\n\n", i, i)
	}
	for i := range 10 {
		fmt.Fprintf(&b, "findings contains {\"code\": \"S%d\", \"p\": s.ptr} if {\n\tsome s in input.statements\n\ts.effect == \"bad%d\"\n}\n\n", i, i)
	}
	for i := range 12 {
		fmt.Fprintf(&b, "findings contains {\"code\": \"A%d\", \"p\": a.ptr} if {\n\tsome a in input.actions\n\ta.len > %d\n}\n\n", i, 128+i)
	}
	for i := range 15 {
		fmt.Fprintf(&b, "findings contains {\"code\": \"C%d\", \"p\": c.ptr} if {\n\tsome c in input.conds\n\tc.op == \"bad%d\"\n}\n\n", i, i)
	}
	return b.String()
}

func protoInput() ast.Value {
	v, _ := ast.InterfaceToValue(map[string]any{
		"doc": map[string]any{"v": "1.1"},
		"statements": []any{map[string]any{"effect": "Allow", "ptr": "/Statement/0"}, map[string]any{"effect": "Deny", "ptr": "/Statement/1"}},
		"actions": []any{
			map[string]any{"len": 15, "ptr": "/Statement/0/Action/0"}, map[string]any{"len": 15, "ptr": "/Statement/0/Action/1"},
			map[string]any{"len": 15, "ptr": "/Statement/0/Action/2"}, map[string]any{"len": 15, "ptr": "/Statement/0/Action/3"},
			map[string]any{"len": 15, "ptr": "/Statement/1/Action/0"}, map[string]any{"len": 15, "ptr": "/Statement/1/Action/1"},
		},
		"conds": []any{map[string]any{"op": "StringEquals", "ptr": "/Statement/0/Condition/StringEquals/g:UserName"}},
	})
	return v
}

func benchMod(b *testing.B, mod string) {
	ctx := context.Background()
	m, err := ast.ParseModuleWithOpts("p.rego", mod, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		b.Fatal(err)
	}
	q, err := oparego.New(oparego.ParsedModule(m), oparego.Query("data.proto.findings")).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	in := protoInput()
	b.ResetTimer()
	for range b.N {
		rs, err := q.Eval(ctx, oparego.EvalParsedInput(in))
		if err != nil || len(rs) != 1 {
			b.Fatal(err)
		}
	}
}

func BenchmarkProto(b *testing.B) { benchMod(b, protoModule()) }

func only(prefix string) string {
	parts := strings.Split(protoModule(), "\n\n")
	out := []string{"package proto"}
	for _, p := range parts {
		if strings.Contains(p, "\"code\": \""+prefix) {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n\n") + "\n"
}
func BenchmarkProtoD(b *testing.B) { benchMod(b, only("D")) }
func BenchmarkProtoS(b *testing.B) { benchMod(b, only("S")) }
func BenchmarkProtoA(b *testing.B) { benchMod(b, only("A")) }
func BenchmarkProtoC(b *testing.B) { benchMod(b, only("C")) }
func BenchmarkProtoEmpty(b *testing.B) { benchMod(b, "package proto\nfindings := set()\n") }

func guarded(naked bool) string {
	var b strings.Builder
	b.WriteString("package proto\n\n")
	for i := range 40 {
		g := fmt.Sprintf("input.has.flag%d == true", i)
		if naked {
			g = fmt.Sprintf("input.has.flag%d", i)
		}
		fmt.Fprintf(&b, "findings contains {\"code\": \"A%d\", \"p\": a.ptr} if {\n\t%s\n\tsome a in input.actions\n\ta.len > %d\n}\n\n", i, g, 128+i)
	}
	return b.String()
}
func BenchmarkProtoGuardEq(b *testing.B)    { benchMod(b, guarded(false)) }
func BenchmarkProtoGuardNaked(b *testing.B) { benchMod(b, guarded(true)) }
func BenchmarkProtoGuardNone(b *testing.B) {
	benchMod(b, strings.ReplaceAll(guarded(false), "input.has.flag", "1 == 1 #"))
}
