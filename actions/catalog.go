package actions

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed catalog.toml
var embeddedCatalog []byte

// EmbeddedName is the name under which the embedded catalog reports errors.
const EmbeddedName = "catalog.toml (embedded)"

// DefaultMaxBody is the default limit, in bytes, on a request body read to resolve
// conditional actions.
const DefaultMaxBody int64 = 1 << 20

// Family tells the two kinds of IMS API apart.
type Family string

// The API families of the IMS reference.
const (
	FamilyExtension Family = "extension" // /v1/cloudimages..., /v2/cloudimages..., jobs
	FamilyOpenStack Family = "openstack" // native OpenStack Glance APIs
)

// Catalog is a validated, immutable set of IMS APIs with a route index. It is safe for
// concurrent use.
type Catalog struct {
	// Version identifies the catalog content (e.g. "2021-06-30.1").
	Version string
	// Edition names the API reference the catalog describes.
	Edition string

	apis     []*API
	byID     map[string]*API
	byMethod map[string][]*API
	maxSegs  int
	maxBody  int64
}

// API is one documented IMS API.
type API struct {
	ID                string        `json:"id"`
	Section           string        `json:"section"`
	Title             string        `json:"title"`
	Method            string        `json:"method"`
	Path              string        `json:"path"`
	Family            Family        `json:"family"`
	Deprecated        bool          `json:"deprecated"`
	Actions           []string      `json:"actions"`
	Conditional       []Conditional `json:"conditional_actions"`
	Dependencies      []string      `json:"dependencies"`
	IAMProject        bool          `json:"iam_project"`
	EnterpriseProject bool          `json:"enterprise_project"`
	// EnterpriseProjectOf says where the enterprise project a request acts in is a fact
	// the proxy can establish (see EPSource); only for EnterpriseProject APIs. Empty for
	// such an API: the request never establishes one, so enterprise-project grants can
	// only deny it.
	EnterpriseProjectOf []EPSource `json:"enterprise_project_of,omitempty"`
	// EPException, when set, names the requests of this API that honour only IAM-project
	// grants although the API honours enterprise-project grants (5.1.1: shared-image
	// queries).
	EPException *EPException      `json:"enterprise_project_exception,omitempty"`
	Params      map[string]string `json:"param_patterns,omitempty"`
	Source      string            `json:"source"`
	Notes       string            `json:"notes,omitempty"`
	Choice      string            `json:"choice,omitempty"`

	tmpl template
}

// Conditional is an action an API requires only for some requests.
type Conditional struct {
	Action       string   `json:"action"`
	When         string   `json:"when"`
	Dependencies []string `json:"dependencies"`
	Rule         Rule     `json:"rule"`
}

// RuleKind selects how a conditional action is resolved from the request body.
type RuleKind string

// The rule kinds.
const (
	// RuleBodyFieldIn: top-level body field Field is one of In (Default when absent).
	RuleBodyFieldIn RuleKind = "body_field_in"
	// RuleBodyFieldPresent: top-level body field Field is present.
	RuleBodyFieldPresent RuleKind = "body_field_present"
	// RuleJSONPatchPath: the body is a JSON Patch array touching Path (or below or above it).
	RuleJSONPatchPath RuleKind = "json_patch_path"
)

// Rule is the machine-readable condition of a conditional action.
type Rule struct {
	Kind    RuleKind `json:"kind" toml:"kind"`
	Field   string   `json:"field,omitempty" toml:"field"`
	In      []string `json:"in,omitempty" toml:"in"`
	Default string   `json:"default,omitempty" toml:"default"`
	Path    string   `json:"path,omitempty" toml:"path"`
}

// NeedsBody reports whether the API's required actions depend on the request body.
func (a *API) NeedsBody() bool { return len(a.Conditional) > 0 }

// AllActions returns every action the API may require: the unconditional ones followed by
// the conditional ones, without duplicates.
func (a *API) AllActions() []string {
	out := append([]string(nil), a.Actions...)
	for _, c := range a.Conditional {
		out = appendUnique(out, c.Action)
	}
	return out
}

// Embedded parses and validates the catalog compiled into the binary.
func Embedded() (*Catalog, error) { return Parse(EmbeddedName, embeddedCatalog) }

// LoadFile parses and validates a catalog file (the --catalog override).
func LoadFile(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load catalog %s: %w", path, err)
	}
	return Parse(path, data)
}

// APIs returns the catalog's APIs in catalog order. The slice is a copy; the APIs are shared
// and must not be modified.
func (c *Catalog) APIs() []*API { return append([]*API(nil), c.apis...) }

// API returns the API with the given id.
func (c *Catalog) API(id string) (*API, bool) {
	a, ok := c.byID[id]
	return a, ok
}

// MaxBody returns the limit on request bodies read to resolve conditional actions.
func (c *Catalog) MaxBody() int64 { return c.maxBody }

// WithMaxBody returns a catalog sharing c's APIs whose body limit is n bytes (n > 0).
func (c *Catalog) WithMaxBody(n int64) *Catalog {
	if n <= 0 {
		n = DefaultMaxBody
	}
	cp := *c
	cp.maxBody = n
	return &cp
}

// ServiceActions returns every distinct action any API requires, unconditionally or
// conditionally, in catalog order. Dependencies are not included.
func (c *Catalog) ServiceActions() []string {
	var out []string
	for _, a := range c.apis {
		for _, act := range a.AllActions() {
			out = appendUnique(out, act)
		}
	}
	return out
}

// NamedActions returns every action name the catalog holds: each API's actions (required
// and conditional), its dependencies and its conditional actions' dependencies, in catalog
// order, in the spelling first met; names that differ only in case count once.
// Dependencies may be patterns ("obs:bucket:*").
func (c *Catalog) NamedActions() []string {
	seen := map[string]bool{}
	var out []string
	add := func(as []string) {
		for _, a := range as {
			if l := strings.ToLower(a); !seen[l] {
				seen[l] = true
				out = append(out, a)
			}
		}
	}
	for _, a := range c.apis {
		add(a.AllActions())
		add(a.Dependencies)
		for _, cond := range a.Conditional {
			add(cond.Dependencies)
		}
	}
	return out
}

// CatalogError is a catalog load or validation error naming the offending entry.
type CatalogError struct {
	Source string // file name
	Line   int    // 1-based line when known, else 0
	Entry  string // e.g. `api[3] "list_cloudimages"`, empty for file-level errors
	Field  string // offending field, when known
	Err    error
}

// Error implements error.
func (e *CatalogError) Error() string {
	var b strings.Builder
	b.WriteString("catalog ")
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Entry != "" {
		b.WriteString(": ")
		b.WriteString(e.Entry)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *CatalogError) Unwrap() error { return e.Err }

// ErrInvalidCatalog is wrapped by every validation error.
var ErrInvalidCatalog = errors.New("invalid catalog")

type rawCatalog struct {
	Version string   `toml:"version"`
	Edition string   `toml:"edition"`
	API     []rawAPI `toml:"api"`
}

type rawAPI struct {
	ID                string            `toml:"id"`
	Section           string            `toml:"section"`
	Title             string            `toml:"title"`
	Method            string            `toml:"method"`
	Path              string            `toml:"path"`
	Family            string            `toml:"family"`
	Deprecated        bool              `toml:"deprecated"`
	Actions           []string          `toml:"actions"`
	Dependencies      []string          `toml:"dependencies"`
	IAMProject        *bool             `toml:"iam_project"`
	EnterpriseProject *bool             `toml:"enterprise_project"`
	EnterpriseOf      *[]string         `toml:"enterprise_project_of"`
	EPException       *EPException      `toml:"enterprise_project_exception"`
	Source            string            `toml:"source"`
	Notes             string            `toml:"notes"`
	Choice            string            `toml:"choice"`
	Conditional       []rawConditional  `toml:"conditional"`
	Params            map[string]string `toml:"params"`
}

type rawConditional struct {
	Action       string   `toml:"action"`
	When         string   `toml:"when"`
	Dependencies []string `toml:"dependencies"`
	Rule         Rule     `toml:"rule"`
}

// Parse decodes (strictly: unknown keys are errors) and validates a catalog.
func Parse(name string, data []byte) (*Catalog, error) {
	var raw rawCatalog
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &CatalogError{Source: name, Line: pe.Position.Line, Err: fmt.Errorf("%w: %s", ErrInvalidCatalog, pe.Message)}
		}
		return nil, &CatalogError{Source: name, Err: fmt.Errorf("%w: %v", ErrInvalidCatalog, err)}
	}
	if und := md.Undecoded(); len(und) > 0 {
		key := und[0].String()
		return nil, &CatalogError{Source: name, Line: lineOfKey(data, und[0][len(und[0])-1]),
			Err: fmt.Errorf("%w: unknown key %q (check the spelling against the field list at the top of the catalog)", ErrInvalidCatalog, key)}
	}
	return build(name, &raw)
}

// lineOfKey finds the first line that assigns key, for error messages.
func lineOfKey(data []byte, key string) int {
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, key); ok {
			rest = strings.TrimSpace(rest)
			if strings.HasPrefix(rest, "=") || strings.HasPrefix(t, "["+key) {
				return i + 1
			}
		}
		if strings.Contains(t, "["+key+"]") || strings.Contains(t, "[api."+key+"]") {
			return i + 1
		}
	}
	return 0
}

var (
	idRe      = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	sectionRe = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	actionRe  = regexp.MustCompile(`^[a-z][a-z0-9]*:[A-Za-z][A-Za-z0-9]*:[A-Za-z][A-Za-z0-9]*$`)
	depRe     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*:[A-Za-z0-9*]+:[A-Za-z0-9*]+$`)
	methods   = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}
)
