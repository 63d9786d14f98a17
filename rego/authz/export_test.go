package authz

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportedDecision is the result of an exported policy set, as OPA returns it.
type exportedDecision struct {
	Decision string `json:"decision"`
	Actions  map[string]struct {
		Decision string `json:"decision"`
		Matched  []struct {
			Policy    string `json:"policy"`
			Statement int    `json:"statement"`
			Effect    string `json:"effect"`
		} `json:"matched"`
	} `json:"actions"`
}

// TestExportDecidesLikeTheEngine writes generated policy sets with Export, loads the
// files with OPA's own loader (rego.Load, as an OPA server would), and requires the same
// decision and matched statements as the engine for generated requests.
func TestExportDecidesLikeTheEngine(t *testing.T) {
	ctx := context.Background()
	n := 40
	if testing.Short() {
		n = 8
	}
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, 77))
		atts, opts := diffCase(t, r)
		e, err := propRuntime(t).New(ctx, catalog(t), atts, opts)
		require.NoError(t, err)
		x, err := e.Export("imsguard.policies.t")
		require.NoError(t, err)
		dir := t.TempDir()
		for name, text := range x.Modules {
			p := filepath.Join(dir, filepath.FromSlash(name))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		}
		q, err := rego.New(rego.Load([]string{dir}, nil), rego.Query("data.imsguard.policies.t.result")).PrepareForEval(ctx)
		require.NoError(t, err, "seed %d", seed)
		for range 25 {
			in := diffRequest(r)
			want, err := e.Decide(ctx, in)
			require.NoError(t, err)
			raw := map[string]any{"actions": in.Actions, "project": in.Project, "context": in.ContextMap(),
				"apiSupportsEnterpriseProject": *in.APISupportsEP}
			if in.EnterpriseProjectID != "" {
				raw["enterpriseProjectId"] = in.EnterpriseProjectID
			}
			if in.EnterpriseProjectUnknown {
				raw["enterpriseProjectUnknown"] = true
			}
			if in.Resource != "" {
				raw["resource"] = in.Resource
			}
			rs, err := q.Eval(ctx, rego.EvalInput(raw))
			require.NoError(t, err)
			require.Len(t, rs, 1, "seed %d: result undefined for %+v", seed, raw)
			data, err := json.Marshal(rs[0].Expressions[0].Value)
			require.NoError(t, err)
			var got exportedDecision
			require.NoError(t, json.Unmarshal(data, &got))
			if !assert.Equal(t, string(want.Effect), got.Decision, "seed %d request %+v\n%s", seed, raw, x.Modules["imsguard/policies/t/policy.rego"]) {
				return
			}
			for _, ad := range want.Actions {
				ga := got.Actions[lower(ad.Action)]
				assert.Equal(t, string(ad.Effect), ga.Decision, "seed %d %s", seed, ad.Action)
				var refs []StatementRef
				for _, m := range ga.Matched {
					refs = append(refs, StatementRef{Attachment: attIndex(atts, m.Policy), Policy: m.Policy, Statement: m.Statement, Effect: m.Effect})
				}
				if refs == nil {
					refs = []StatementRef{}
				}
				assert.Equal(t, ad.Matched, sortRefs(refs), "seed %d %s matched", seed, ad.Action)
			}
		}
	}
}

func attIndex(atts []Attachment, name string) int {
	return slices.IndexFunc(atts, func(a Attachment) bool { return a.Name == name })
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestExportRejectsBadPackage(t *testing.T) {
	e := engine(t, allProjects(t, "ro", readOnly))
	for _, p := range []string{"", "Imsguard.x", "imsguard..x", "imsguard.authz", "x-y"} {
		_, err := e.Export(p)
		assert.ErrorIs(t, err, ErrExport, p)
	}
	x, err := e.Export("policies.ro")
	require.NoError(t, err)
	assert.Contains(t, x.Modules, "policies/ro/policy.rego")
	assert.Contains(t, x.Modules, "policies/ro/hits.rego")
	assert.Contains(t, x.Modules, "imsguard/authz/conditions.rego")
}
