package generate

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/decisionlog"
	"github.com/imsguard/imsguard/rego/lint"
)

var (
	fixtureOnce sync.Once
	fixtureCat  *actions.Catalog
	fixtureLint *lint.Linter
	fixtureErr  error
)

// fixture returns the embedded catalog and a strict linter, built once.
func fixture(t *testing.T) (*actions.Catalog, *lint.Linter) {
	t.Helper()
	fixtureOnce.Do(func() {
		if fixtureCat, fixtureErr = actions.Embedded(); fixtureErr != nil {
			return
		}
		fixtureLint, fixtureErr = lint.New(context.Background(), fixtureCat, lint.Options{})
	})
	require.NoError(t, fixtureErr)
	return fixtureCat, fixtureLint
}

var t0 = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

// accepted is an entry of principal p for api with the actions it required, accepted by IMS.
func accepted(p, api string, acts ...string) decisionlog.Entry {
	return decisionlog.Entry{Msg: "decision", DecisionID: api + strings.Join(acts, ","), Time: t0, Principal: p, API: api, Actions: acts,
		Project: "ae-ad-1", SourceIP: "10.0.1.7", Decision: "Allow", Enforced: true, Forwarded: true, Status: 200, UpstreamStatus: 200}
}

func observe(cat *actions.Catalog, includeDenied bool, es ...decisionlog.Entry) *Observer {
	o := NewObserver(cat, includeDenied)
	for i := range es {
		o.Add(&es[i])
	}
	return o
}

func gen(t *testing.T, o *Observer, p string, opts Options) *Result {
	t.Helper()
	cat, l := fixture(t)
	opts.Linter = l
	opts.Today = t0
	r, err := Generate(context.Background(), cat, o, p, opts)
	require.NoError(t, err)
	return r
}

// lintResult lints the result's policies: with its suppressions nothing at or above
// warning stays, and without them there is no error.
func lintResult(t *testing.T, r *Result) []lint.Finding {
	t.Helper()
	_, l := fixture(t)
	var files []*policy.File
	for _, p := range r.Policies {
		files = append(files, policy.Parse(p.File, p.Document))
	}
	rep, err := l.LintFiles(context.Background(), files, r.LintConfig(), policy.SeverityWarning, t0)
	require.NoError(t, err)
	assert.False(t, rep.Summary.Failed, "lint clean with the suppressions: %+v", rep.Findings)
	bare, err := l.LintFiles(context.Background(), files, nil, policy.SeverityError, t0)
	require.NoError(t, err)
	assert.Zero(t, bare.Summary.Errors, "no error even without the suppressions: %+v", bare.Findings)
	return rep.Findings
}

// granted returns the Action elements of the result's policies.
func granted(r *Result) []string {
	var out []string
	for _, p := range r.Policies {
		out = append(out, docActions(policy.Parse(p.File, p.Document))...)
	}
	return out
}

// TestEveryAPIVariantLintsClean generates from one request of every API variant of the
// catalog: the policies grant every action it needs and every dependent action, never mix
// global and project-level services, and lint clean.
func TestEveryAPIVariantLintsClean(t *testing.T) {
	cat, _ := fixture(t)
	for _, v := range variants(cat) {
		t.Run(v.name(), func(t *testing.T) {
			logged := append([]string(nil), v.api.Actions...)
			if v.cond != "" {
				logged = append(logged, v.cond)
			}
			r := gen(t, observe(cat, false, accepted("w", v.api.ID, logged...)), "w", Options{})
			lintResult(t, r)
			all := granted(r)
			for _, a := range append(append([]string(nil), v.needs...), v.deps...) {
				assert.True(t, covered(all, a), "%s granted", a)
			}
			for _, p := range r.Policies {
				global := 0
				acts := docActions(policy.Parse(p.File, p.Document))
				for _, a := range acts {
					if isGlobal(a) {
						global++
					}
				}
				assert.True(t, global == 0 || global == len(acts), "%s mixes global and project-level services: %v", p.File, acts)
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	cat, _ := fixture(t)
	quick := func(typ string) decisionlog.Entry {
		e := accepted("builder", "quick_import_cloudimage", typ)
		e.DecisionID += "q"
		return e
	}
	readDelete := func() []decisionlog.Entry {
		var es []decisionlog.Entry
		for _, api := range []string{"glance_list_images", "glance_show_image", "glance_update_image", "glance_delete_image", "glance_create_image_metadata",
			"glance_upload_image_file", "export_image", "glance_add_member", "copy_image_in_region"} {
			a, _ := cat.API(api)
			es = append(es, accepted("admin", api, a.Actions...))
		}
		return es
	}
	tests := []struct {
		name  string
		es    []decisionlog.Entry
		who   string
		opts  Options
		check func(t *testing.T, r *Result)
	}{
		{name: "body-dependent actions as logged, dependent actions split by scope", who: "builder",
			es: []decisionlog.Entry{accepted("builder", "list_cloudimages", "ims:images:list"), quick("ims:serverImages:create")},
			check: func(t *testing.T, r *Result) {
				require.Len(t, r.Policies, 2)
				assert.Equal(t, "builder.json", r.Policies[0].File)
				assert.Equal(t, authz.Scope{Kind: authz.ScopeProject, Projects: []string{"ae-ad-1"}}, r.Policies[0].Scope)
				assert.Equal(t, authz.Scope{Kind: authz.ScopeGlobal}, r.Policies[1].Scope)
				assert.Equal(t, []string{"obs:bucket:*", "obs:object:*"}, docActions(policy.Parse("g", r.Policies[1].Document)))
				proj := docActions(policy.Parse("p", r.Policies[0].Document))
				assert.Contains(t, proj, "ims:serverImages:create")
				assert.NotContains(t, proj, "ims:dataImages:create", "the DataImage variant was not used")
				assert.Contains(t, proj, "bms:servers:list", "the ECS variant's own dependent actions")
				require.Len(t, r.Suppressions, 1)
				assert.Equal(t, "W-MISSING-DEPENDENT-ACTION", r.Suppressions[0].Code)
				assert.Contains(t, r.Suppressions[0].Reason, "obs:bucket:*, obs:object:* granted in builder-global.json")
				assert.Empty(t, r.Widenings)
				var why []string
				for _, g := range r.Grants {
					if g.Action == "kms:*:*" {
						why = g.Why
					}
				}
				assert.Equal(t, []string{"dependent action of 5.1.4 quick_import_cloudimage (with ims:serverImages:create)"}, why)
			}},
		{name: "exact collapse only where every catalog action is granted", who: "admin", es: readDelete(),
			check: func(t *testing.T, r *Result) {
				acts := docActions(policy.Parse("p", r.Policies[0].Document))
				assert.Contains(t, acts, "ims:images:*", "every ims:images action is granted (share from 6.3.1, upload, copy, export, create, delete...)")
				assert.NotContains(t, acts, "ims:images:get")
				assert.Contains(t, acts, "ims:serverImages:create", "copy's dependent action")
				assert.Empty(t, r.Widenings, "exact collapse widens nothing")
			}},
		{name: "a partial API the workload did not call stays, explained", who: "sharer",
			es: []decisionlog.Entry{accepted("sharer", "batch_add_members", "ims:images:share")},
			check: func(t *testing.T, r *Result) {
				assert.Equal(t, []string{"ims:images:share"}, granted(r), "no ims:images:get: 5.2.2 needs only share")
				require.Len(t, r.Suppressions, 1)
				assert.Equal(t, "W-PARTIAL-API", r.Suppressions[0].Code)
				assert.Contains(t, r.Suppressions[0].Reason, "API 6.3.1, 6.3.2, 6.3.3, 6.3.4, 6.3.5 also need ims:images:get")
			}},
		{name: "collapse service reports what it adds", who: "builder", opts: Options{Collapse: CollapseService},
			es: []decisionlog.Entry{accepted("builder", "list_cloudimages", "ims:images:list"), quick("ims:serverImages:create")},
			check: func(t *testing.T, r *Result) {
				acts := granted(r)
				assert.Contains(t, acts, "ims:*:*")
				assert.Contains(t, acts, "obs:*:*")
				var ims *Widening
				for i := range r.Widenings {
					if r.Widenings[i].Grant == "ims:*:*" {
						ims = &r.Widenings[i]
					}
				}
				require.NotNil(t, ims)
				assert.Contains(t, ims.Adds, "ims:images:delete")
				assert.NotContains(t, ims.Adds, "ims:images:list")
			}},
		{name: "only what IMS accepted, unless --include-denied", who: "reader",
			es: func() []decisionlog.Entry {
				ok := accepted("reader", "glance_list_images", "ims:images:list")
				refused := accepted("reader", "glance_delete_image", "ims:images:delete")
				refused.Decision, refused.Forwarded, refused.UpstreamStatus, refused.Status = "ImplicitDeny", false, 0, 403
				failed := accepted("reader", "glance_update_image", "ims:images:update")
				failed.UpstreamStatus, failed.Status = 404, 404
				noAPI := accepted("reader", "", "")
				noAPI.Reason, noAPI.API, noAPI.Actions = "no_api", "", nil
				return []decisionlog.Entry{ok, refused, failed, noAPI}
			}(),
			check: func(t *testing.T, r *Result) {
				assert.Equal(t, []string{"ims:images:list"}, granted(r))
				assert.Equal(t, Counts{Requests: 4, Granted: 1, Accepted: 1, DeniedSkipped: 1, NotAccepted: 1, NotDecided: 1}, r.Counts)
			}},
		{name: "include denied", who: "reader", opts: Options{},
			es: func() []decisionlog.Entry {
				refused := accepted("reader", "glance_delete_image", "ims:images:delete")
				refused.Decision, refused.Forwarded, refused.UpstreamStatus, refused.Status = "ImplicitDeny", false, 0, 403
				return []decisionlog.Entry{refused}
			}(),
			check: func(t *testing.T, r *Result) {
				assert.Equal(t, []string{"ims:images:delete"}, granted(r))
				assert.Equal(t, 1, r.Counts.Denied)
				assert.Equal(t, map[string]int{"denied": 1}, r.APIs[0].Statuses)
			}},
		{name: "conditions: observed addresses as CIDR ranges on the IMS actions", who: "builder", opts: Options{SuggestConditions: true},
			es: func() []decisionlog.Entry {
				a := accepted("builder", "list_cloudimages", "ims:images:list")
				b := quick("ims:serverImages:create")
				b.SourceIP = "10.0.1.200"
				c := accepted("builder", "glance_show_image", "ims:images:get")
				c.SourceIP = "2001:db8::1"
				return []decisionlog.Entry{a, b, c}
			}(),
			check: func(t *testing.T, r *Result) {
				require.NotNil(t, r.Condition)
				assert.Equal(t, []string{"10.0.1.0/24", "2001:db8::/64"}, r.Condition.Values)
				var d document
				require.NoError(t, json.Unmarshal(r.Policies[0].Document, &d))
				require.Len(t, d.Statement, 2)
				assert.Equal(t, map[string]map[string][]string{"IpAddress": {"g:SourceIp": {"10.0.1.0/24", "2001:db8::/64"}}}, d.Statement[0].Condition)
				assert.Equal(t, []string{"ims:images:get", "ims:images:list", "ims:serverImages:create"}, d.Statement[0].Action)
				assert.Nil(t, d.Statement[1].Condition, "dependent actions: no address condition")
			}},
		{name: "limits force wildcards, reported", who: "admin", es: readDelete(),
			opts: Options{Limits: &lint.Limits{Statements: 1, Actions: 2, Values: 10, PolicySize: 6144}},
			check: func(t *testing.T, r *Result) {
				assert.Equal(t, 1, r.Policies[0].Statements)
				require.NotEmpty(t, r.Widenings)
				assert.Contains(t, r.Widenings[0].Why, "the limit of 1 statements per policy")
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := observe(cat, strings.HasPrefix(tc.name, "include denied"), tc.es...)
			r := gen(t, o, tc.who, tc.opts)
			lintResult(t, r)
			tc.check(t, r)
		})
	}
}

func TestScope(t *testing.T) {
	cat, _ := fixture(t)
	ep := func(api string, facts ...string) decisionlog.Entry {
		a, _ := cat.API(api)
		e := accepted("w", api, a.Actions...)
		e.EnterpriseProjects = facts
		return e
	}
	noProject := accepted("w", "glance_show_image", "ims:images:get")
	noProject.Project = ""
	tests := []struct {
		name string
		es   []decisionlog.Entry
		want authz.Scope
		note string
	}{
		{"projects observed", []decisionlog.Entry{accepted("w", "glance_show_image", "ims:images:get"), func() decisionlog.Entry {
			e := accepted("w", "glance_list_images", "ims:images:list")
			e.Project = "ae-ad-1_dev"
			return e
		}()}, authz.Scope{Kind: authz.ScopeProject, Projects: []string{"ae-ad-1", "ae-ad-1_dev"}}, ""},
		{"enterprise projects observed", []decisionlog.Entry{ep("glance_show_image", "image=ep-dev"), ep("create_cloudimage", "body=ep-ops")},
			authz.Scope{Kind: authz.ScopeEnterpriseProject, EnterpriseProjects: []string{"ep-dev", "ep-ops"}}, "[enterprise_project_lookup]"},
		{"an API that ignores enterprise projects", []decisionlog.Entry{ep("glance_show_image", "image=ep-dev"), ep("show_image_quota")},
			authz.Scope{Kind: authz.ScopeProject, Projects: []string{"ae-ad-1"}}, "5.4.1 never establishes an enterprise project"},
		{"an enterprise project the log does not name", []decisionlog.Entry{ep("glance_show_image", "image=other")},
			authz.Scope{Kind: authz.ScopeProject, Projects: []string{"ae-ad-1"}}, ""},
		{"no project logged", []decisionlog.Entry{noProject}, authz.Scope{Kind: authz.ScopeAllProjects}, "attached to all projects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gen(t, observe(cat, false, tc.es...), "w", Options{})
			assert.Equal(t, tc.want, r.Policies[0].Scope)
			if tc.note != "" {
				assert.Contains(t, strings.Join(r.Notes, "\n"), tc.note)
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	tests := []struct {
		name       string
		addrs      []netip.Addr
		bits4, max int
		want       []string
		widened    int
	}{
		{"one /24", addrs("10.0.0.1", "10.0.0.200"), 24, 10, []string{"10.0.0.0/24"}, 0},
		{"siblings merge", addrs("10.0.0.1", "10.0.1.1"), 24, 10, []string{"10.0.0.0/23"}, 0},
		{"hosts", addrs("192.0.2.7", "::ffff:192.0.2.9"), 32, 10, []string{"192.0.2.7/32", "192.0.2.9/32"}, 0},
		{"over the value limit", addrs("10.0.0.1", "10.0.2.1", "10.0.8.1", "172.16.0.1"), 24, 2, []string{"10.0.0.0/20", "172.16.0.0/24"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, notes := aggregate(tc.addrs, tc.bits4, 64, tc.max)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			assert.Equal(t, tc.want, got)
			assert.Len(t, notes, tc.widened)
		})
	}
}

// TestWrite: the folder lints clean the way `imsguard lint --config DIR/imsguard.toml DIR`
// does it, and an imsguard.toml generate did not write is never replaced.
func TestWrite(t *testing.T) {
	cat, l := fixture(t)
	o := observe(cat, false, accepted("builder", "quick_import_cloudimage", "ims:dataImages:create"), accepted("reader", "glance_list_images", "ims:images:list"))
	var rs []*Result
	for _, p := range o.Principals() {
		rs = append(rs, gen(t, o, p, Options{}))
	}
	dir := filepath.Join(t.TempDir(), "out")
	files, err := Write(dir, rs, "1 decision log")
	require.NoError(t, err)
	assert.Len(t, files, 6, "builder.json, builder-global.json, builder.report.md, reader.json, reader.report.md, imsguard.toml")
	cfg, err := lint.LoadConfig(filepath.Join(dir, ConfigName))
	require.NoError(t, err)
	loaded, err := policy.Load([]string{dir}, nil)
	require.NoError(t, err)
	assert.Len(t, loaded, 3, "the reports are not policies")
	rep, err := l.LintFiles(context.Background(), loaded, cfg, policy.SeverityWarning, t0)
	require.NoError(t, err)
	assert.False(t, rep.Summary.Failed, "%+v", rep.Findings)
	assert.Equal(t, 1, rep.Summary.Suppressed)
	toml, err := os.ReadFile(filepath.Join(dir, ConfigName))
	require.NoError(t, err)
	assert.Contains(t, string(toml), "#   policy = \"builder-global.json\"\n#   scope = \"global\"")
	report, err := os.ReadFile(filepath.Join(dir, "builder.report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(report), "| 5.1.4 | POST /v2/cloudimages/quickimport/action (quick_import_cloudimage) | 1 |")
	assert.Contains(t, string(report), "| ims:dataImages:create | builder.json | required by 5.1.4 quick_import_cloudimage (1 request) |")

	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigName), []byte("[lint]\n"), 0o644))
	_, err = Write(dir, rs, "1 decision log")
	require.ErrorIs(t, err, ErrOverwrite)
}
