package actions

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustCatalog(t testing.TB) *Catalog {
	t.Helper()
	c, err := Embedded()
	require.NoError(t, err)
	return c
}

// tocEntries parses the table of contents of the IMS API reference (sections 5.x.y and 6.x.y).
// The transcription glues page numbers to the next section number ("Querying Images. 155.1.2
// Updating ..."), so a title ends at the first "." after a letter or ")" that is followed by
// an optional space and a digit (titles themselves contain "v1.1").
func tocEntries(t *testing.T) map[string]string {
	data, err := os.ReadFile("testdata/ims-api-reference-2021-06-30.txt")
	require.NoError(t, err)
	text := string(data)
	start := strings.Index(text, "Contents1 Before")
	end := strings.Index(text, "1 Before You Start1Before")
	require.True(t, start >= 0 && end > start, "table of contents not found")
	toc := text[start:end]
	secRe := regexp.MustCompile(`[56]\.\d\.\d [A-Z]`)
	out := map[string]string{}
	for _, loc := range secRe.FindAllStringIndex(toc, -1) {
		sec := toc[loc[0] : loc[0]+5]
		rest := toc[loc[0]+6:]
		cut := -1
		for i := 1; i < len(rest); i++ {
			if rest[i] != '.' {
				continue
			}
			prev := rest[i-1]
			if !(prev == ')' || ('a' <= prev && prev <= 'z') || ('A' <= prev && prev <= 'Z')) {
				continue
			}
			j := i + 1
			if j < len(rest) && rest[j] == ' ' {
				j++
			}
			if j < len(rest) && '0' <= rest[j] && rest[j] <= '9' {
				cut = i
				break
			}
		}
		require.Positive(t, cut, "no end of title after section %s", sec)
		title := strings.TrimSpace(rest[:cut])
		require.NotContains(t, out, sec, "section %s twice in the TOC", sec)
		out[sec] = title
	}
	return out
}

func TestCatalogHoldsExactlyTheReferenceTOC(t *testing.T) {
	toc := tocEntries(t)
	require.Len(t, toc, 36, "the reference TOC lists 36 APIs")
	c := mustCatalog(t)
	got := map[string]string{}
	for _, a := range c.APIs() {
		got[a.Section] = a.Title
	}
	assert.Equal(t, toc, got, "catalog sections and titles must equal the reference TOC")
	assert.NotEmpty(t, c.Version)
}

func TestCatalogFamiliesAndDeprecation(t *testing.T) {
	c := mustCatalog(t)
	var ext, os, dep []string
	for _, a := range c.APIs() {
		switch a.Family {
		case FamilyExtension:
			ext = append(ext, a.Section)
			assert.True(t, strings.HasPrefix(a.Section, "5."), a.ID)
		case FamilyOpenStack:
			os = append(os, a.Section)
			assert.True(t, strings.HasPrefix(a.Section, "6."), a.ID)
		}
		if a.Deprecated {
			dep = append(dep, a.Section)
			assert.Contains(t, a.Title, "Abandoned and Not Recommended")
		}
	}
	assert.Len(t, ext, 16)
	assert.Len(t, os, 20)
	assert.Equal(t, []string{"6.1.7", "6.1.8", "6.1.9"}, dep)
}

// researchAPI mirrors the researched catalog in shared/reference (copied to testdata).
type researchAPI struct {
	ID, Section, Title, Method, Path, Family string
	Deprecated                               bool
	Actions                                  []string
	ConditionalActions                       []struct{ Action, When string } `toml:"conditional_actions"`
	Dependencies                             []string
	IAMProject                               bool `toml:"iam_project"`
	EnterpriseProject                        bool `toml:"enterprise_project"`
}

// TestCatalogAgreesWithResearch checks every fact of the researched catalog, except the
// dependency changes the catalog documents as choices.
func TestCatalogAgreesWithResearch(t *testing.T) {
	var research struct{ API []researchAPI }
	_, err := toml.DecodeFile("testdata/research-catalog.toml", &research)
	require.NoError(t, err)
	require.Len(t, research.API, 36)
	c := mustCatalog(t)
	for _, r := range research.API {
		t.Run(r.Section, func(t *testing.T) {
			a, ok := c.API(r.ID)
			require.True(t, ok, "api %s missing", r.ID)
			assert.Equal(t, r.Section, a.Section)
			assert.Equal(t, r.Title, a.Title)
			assert.Equal(t, r.Method, a.Method)
			assert.Equal(t, r.Path, a.Path)
			assert.Equal(t, Family(r.Family), a.Family)
			assert.Equal(t, r.Deprecated, a.Deprecated)
			assert.Equal(t, nonNil(r.Actions), a.Actions)
			assert.Equal(t, r.IAMProject, a.IAMProject)
			assert.Equal(t, r.EnterpriseProject, a.EnterpriseProject)
			var conds []string
			for _, rc := range r.ConditionalActions {
				conds = append(conds, rc.Action)
			}
			var got []string
			allDeps := append([]string(nil), a.Dependencies...)
			for _, cc := range a.Conditional {
				got = append(got, cc.Action)
				allDeps = appendUnique(allDeps, cc.Dependencies...)
			}
			assert.Equal(t, conds, got)
			want := nonNil(r.Dependencies)
			if r.ID == "create_whole_image" { // choice: CSBS:backup:* is OTC-only
				want = removeString(want, "CSBS:backup:*")
				assert.NotEmpty(t, a.Choice)
			}
			assert.ElementsMatch(t, want, allDeps, "dependencies (unconditional + conditional)")
		})
	}
}

func removeString(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// TestCatalogChoices pins the decisions the catalog documents where the research flags doubt.
func TestCatalogChoices(t *testing.T) {
	c := mustCatalog(t)
	get := func(id string) *API {
		a, ok := c.API(id)
		require.True(t, ok, id)
		return a
	}
	t.Run("job query needs no action but is documented as a choice", func(t *testing.T) {
		a := get("show_job")
		assert.Empty(t, a.Actions)
		assert.Empty(t, a.Conditional)
		assert.Contains(t, a.Choice, "No action")
	})
	t.Run("api_version is constrained to version strings", func(t *testing.T) {
		a := get("show_api_version")
		assert.NotEmpty(t, a.Choice)
		for _, ok := range []string{"v1", "v2", "v2.1", "v2.0.1"} {
			r := c.Route("GET", "/"+ok)
			assert.True(t, r.Matched, ok)
		}
		for _, bad := range []string{"images", "V2", "v", "2", "v2.", "v2.1.2.3", "vv2", "v2a", "cloudimages"} {
			r := c.Route("GET", "/"+bad)
			assert.False(t, r.Matched, bad)
			assert.Equal(t, ReasonUnknownPath, r.Reason, bad)
		}
	})
	t.Run("full-ECS image drops the OTC-only CSBS dependency", func(t *testing.T) {
		a := get("create_whole_image")
		assert.NotContains(t, a.Dependencies, "CSBS:backup:*")
		assert.Contains(t, a.Dependencies, "cbr:*:*")
	})
	t.Run("quick import splits bms dependencies by image type", func(t *testing.T) {
		a := get("quick_import_cloudimage")
		assert.NotContains(t, a.Dependencies, "bms:servers:get")
		r, err := c.Match("POST", "/v2/cloudimages/quickimport/action", []byte(`{"type":"DataImage"}`))
		require.NoError(t, err)
		assert.NotContains(t, r.Dependencies, "bms:servers:get")
		r, err = c.Match("POST", "/v2/cloudimages/quickimport/action", []byte(`{"type":"BMS"}`))
		require.NoError(t, err)
		assert.Contains(t, r.Dependencies, "bms:servers:get")
	})
	t.Run("every conditional API records its choice", func(t *testing.T) {
		for _, a := range c.APIs() {
			if a.NeedsBody() {
				assert.NotEmpty(t, a.Choice, a.ID)
			}
		}
	})
}

func TestCatalogServiceActions(t *testing.T) {
	c := mustCatalog(t)
	assert.ElementsMatch(t, []string{
		"ims:images:list", "ims:images:get", "ims:images:update", "ims:images:delete",
		"ims:images:create", "ims:images:upload", "ims:images:export", "ims:images:copy",
		"ims:images:share", "ims:serverImages:create", "ims:dataImages:create",
		"ims:wholeImages:create", "ims:quotas:get",
	}, c.ServiceActions(), "the 13 documented ims actions")
}

func TestCatalogNamedActions(t *testing.T) {
	c := mustCatalog(t)
	named := c.NamedActions()
	assert.Subset(t, named, c.ServiceActions(), "every required or conditional action")
	assert.Subset(t, named, []string{"obs:bucket:*", "kms:*:*", "bms:servers:list"}, "dependencies, conditional ones too")
	seen := map[string]bool{}
	for _, a := range named {
		l := strings.ToLower(a)
		assert.False(t, seen[l], "%s listed once", a)
		seen[l] = true
	}
	for _, api := range c.APIs() {
		for _, a := range api.Dependencies {
			assert.True(t, seen[strings.ToLower(a)], "%s of %s", a, api.ID)
		}
		for _, cond := range api.Conditional {
			for _, a := range cond.Dependencies {
				assert.True(t, seen[strings.ToLower(a)], "%s of %s", a, api.ID)
			}
		}
	}
}

const validAPI = `
[[api]]
id = "list_things"
section = "1.1.1"
title = "Listing"
method = "GET"
path = "/v2/things"
family = "extension"
actions = ["ims:images:list"]
dependencies = []
iam_project = true
enterprise_project = false
source = "test"
`

func TestCatalogValidation(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"no version", validAPI, "missing catalog version"},
		{"no apis", `version = "1"`, "no [[api]] entries"},
		{"unknown top key", "version = \"1\"\nbogus = 1\n" + validAPI, `unknown key "bogus"`},
		{"unknown api key", "version = \"1\"\n" + validAPI + "colour = \"red\"\n", `unknown key "api.colour"`},
		{"toml syntax", "version = \"1\"\n[[api]\n", "catalog t.toml:3: invalid catalog: expected end of table array name"},
		{"duplicate id", "version = \"1\"\n" + validAPI + strings.Replace(validAPI, "1.1.1", "1.1.2", 1), "duplicate id"},
		{"duplicate section", "version = \"1\"\n" + validAPI + strings.Replace(strings.Replace(validAPI, "list_things", "other", 1), "/v2/things", "/v2/other", 1), "duplicate section"},
		{"bad method", "version = \"1\"\n" + strings.Replace(validAPI, `"GET"`, `"get"`, 1), "method \"get\""},
		{"bad family", "version = \"1\"\n" + strings.Replace(validAPI, `"extension"`, `"ext"`, 1), "family \"ext\""},
		{"bad template", "version = \"1\"\n" + strings.Replace(validAPI, `/v2/things`, `/v2//things`, 1), "empty segment"},
		{"bad template literal", "version = \"1\"\n" + strings.Replace(validAPI, `/v2/things`, `/v2/th;ings`, 1), "literal segment"},
		{"bad param", "version = \"1\"\n" + strings.Replace(validAPI, `/v2/things`, `/v2/{Thing}`, 1), "parameter name"},
		{"dup param", "version = \"1\"\n" + strings.Replace(validAPI, `/v2/things`, `/v2/{a}/{a}`, 1), "appears twice"},
		{"bad action", "version = \"1\"\n" + strings.Replace(validAPI, `ims:images:list`, `ims:images`, 1), "not a valid service:resource:operation"},
		{"wildcard action", "version = \"1\"\n" + strings.Replace(validAPI, `ims:images:list`, `ims:*:list`, 1), "not a valid"},
		{"missing ep flag", "version = \"1\"\n" + strings.Replace(validAPI, "enterprise_project = false\n", "", 1), "enterprise_project must both be set"},
		{"ep source without ep flag", "version = \"1\"\n" + strings.Replace(validAPI, "enterprise_project = false\n", "enterprise_project = false\nenterprise_project_of = [\"query\"]\n", 1), "only APIs with enterprise_project = true"},
		{"ep flag without sources", "version = \"1\"\n" + strings.Replace(validAPI, "enterprise_project = false\n", "enterprise_project = true\n", 1), "enterprise_project_of: invalid catalog: missing"},
		{"unknown ep source", "version = \"1\"\n" + strings.Replace(validAPI, "enterprise_project = false\n", "enterprise_project = true\nenterprise_project_of = [\"header\"]\n", 1), "unknown source \"header\""},
		{"ep source twice", "version = \"1\"\n" + strings.Replace(validAPI, "enterprise_project = false\n", "enterprise_project = true\nenterprise_project_of = [\"query\", \"query\"]\n", 1), "listed twice"},
		{"ep body on GET", "version = \"1\"\n" + strings.Replace(validAPI, "enterprise_project = false\n", "enterprise_project = true\nenterprise_project_of = [\"body\"]\n", 1), "does not fit GET"},
		{"ep image without image_id", "version = \"1\"\n" + strings.Replace(validAPI, "enterprise_project = false\n", "enterprise_project = true\nenterprise_project_of = [\"image\"]\n", 1), "does not fit GET /v2/things"},
		{"overlap", "version = \"1\"\n" + validAPI + strings.Replace(strings.Replace(strings.Replace(validAPI, "list_things", "get_thing", 1), "1.1.1", "1.1.2", 1), "/v2/things", "/v2/{id}", 1), "could both match"},
		{"param pattern for unknown param", "version = \"1\"\n" + validAPI + "[api.params]\nid = \"x\"\n", "no {id} in template"},
		{"bad rule kind", "version = \"1\"\n" + validAPI + "[[api.conditional]]\naction = \"ims:images:get\"\nwhen = \"w\"\nrule = { kind = \"magic\" }\n", "unknown rule kind"},
		{"default outside values", "version = \"1\"\n" + validAPI + "[[api.conditional]]\naction = \"ims:images:get\"\nwhen = \"w\"\nrule = { kind = \"body_field_in\", field = \"type\", in = [\"A\"], default = \"B\" }\n", "default \"B\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.toml", []byte(tc.doc))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidCatalog)
			var ce *CatalogError
			require.True(t, errors.As(err, &ce))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("valid", func(t *testing.T) {
		c, err := Parse("t.toml", []byte("version = \"1\"\n"+validAPI))
		require.NoError(t, err)
		assert.Len(t, c.APIs(), 1)
	})
	t.Run("unknown key names its line", func(t *testing.T) {
		_, err := Parse("t.toml", []byte("version = \"1\"\n"+validAPI+"colour = \"red\"\n"))
		var ce *CatalogError
		require.True(t, errors.As(err, &ce))
		assert.Equal(t, 15, ce.Line)
	})
}
