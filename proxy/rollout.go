package proxy

import (
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imsguard/imsguard/actions"
)

// Staged rollout: the mode of a request is the most specific of
//
//	[[principals]] modes = { <api id> = "audit" }   that principal, that API
//	[[principals]] mode = "audit"                    that principal
//	modes = { <api id> = "audit" }                   that API, any caller
//	mode = "enforce"                                 everything else
//
// so one workload (or one API) can be audited while the rest is enforced, and the other
// way round. The principal is the identified caller: a request refused before it is
// identified (a bad path, a bad credential) follows the API's or the global mode.

// rollout is the mode table of a snapshot; nil when nothing overrides the global mode.
type rollout struct {
	global     bool            // mode = "enforce"
	apis       map[string]bool // API id → enforce
	principals map[string]*principalRollout
}

type principalRollout struct {
	mode string          // "" when the principal sets no mode
	apis map[string]bool // API id → enforce
}

// validateModes checks the mode values of modes tables and principals (the API ids are
// checked against the catalog when the snapshot is built).
func (c *Config) validateModes() error {
	for api, m := range c.Modes {
		if m != ModeEnforce && m != ModeAudit {
			return bad(-1, fmt.Sprintf("modes.%s = %q must be %q or %q", api, m, ModeEnforce, ModeAudit), "modes")
		}
	}
	for i, p := range c.Principals {
		if p.Mode != "" && p.Mode != ModeEnforce && p.Mode != ModeAudit {
			return bad(i, fmt.Sprintf("principal %q: mode %q must be %q or %q", p.Name, p.Mode, ModeEnforce, ModeAudit), "principals", "mode")
		}
		for api, m := range p.Modes {
			if m != ModeEnforce && m != ModeAudit {
				return bad(i, fmt.Sprintf("principal %q: modes.%s = %q must be %q or %q", p.Name, api, m, ModeEnforce, ModeAudit), "principals", "modes")
			}
		}
	}
	return nil
}

// newRollout builds the mode table of cfg; nil when nothing overrides the global mode. An
// API id the catalog does not know is an invalid configuration.
func newRollout(cfg *Config, cat *actions.Catalog) (*rollout, error) {
	r := &rollout{global: cfg.Mode != ModeAudit, apis: map[string]bool{}, principals: map[string]*principalRollout{}}
	check := func(where string, m map[string]string) (map[string]bool, error) {
		out := map[string]bool{}
		for api, mode := range m {
			if _, ok := cat.API(api); !ok {
				return nil, fmt.Errorf("%w: %s: %q is not an IMS API id (imsguard actions list shows them)", ErrInvalidConfig, where, api)
			}
			out[api] = mode != ModeAudit
		}
		return out, nil
	}
	var err error
	if r.apis, err = check("modes", cfg.Modes); err != nil {
		return nil, err
	}
	overrides := len(r.apis) > 0
	for _, p := range cfg.Principals {
		if p.Mode == "" && len(p.Modes) == 0 {
			continue
		}
		pr := &principalRollout{mode: p.Mode}
		if pr.apis, err = check(fmt.Sprintf("principal %q: modes", p.Name), p.Modes); err != nil {
			return nil, err
		}
		r.principals[p.Name] = pr
		overrides = true
	}
	if !overrides {
		return nil, nil
	}
	return r, nil
}

// enforces reports whether a request of principal ("" when not identified) to api (""
// when it matched none) is enforced.
func (r *rollout) enforces(principal, api string) bool {
	if p := r.principals[principal]; p != nil && principal != "" {
		if e, ok := p.apis[api]; ok {
			return e
		}
		if p.mode != "" {
			return p.mode != ModeAudit
		}
	}
	if e, ok := r.apis[api]; ok {
		return e
	}
	return r.global
}

// enforces reports whether a request of principal to api is enforced (see rollout).
func (s *Snapshot) enforces(principal, api string) bool {
	if s.rollout == nil {
		return s.enforcing()
	}
	return s.rollout.enforces(principal, api)
}

// ModeOverrides describes what overrides the global mode, one line each, sorted:
// `principal "ci": audit`, `API glance_delete_image: audit`,
// `principal "ci", API glance_delete_image: enforce`.
func (s *Snapshot) ModeOverrides() []string {
	if s.rollout == nil {
		return nil
	}
	mode := func(e bool) string {
		if e {
			return ModeEnforce
		}
		return ModeAudit
	}
	var out []string
	for api, e := range s.rollout.apis {
		out = append(out, fmt.Sprintf("API %s: %s", api, mode(e)))
	}
	for name, p := range s.rollout.principals {
		if p.mode != "" {
			out = append(out, fmt.Sprintf("principal %q: %s", name, p.mode))
		}
		for api, e := range p.apis {
			out = append(out, fmt.Sprintf("principal %q, API %s: %s", name, api, mode(e)))
		}
	}
	sort.Strings(out)
	return out
}

// newWouldDeny is imsguard_would_deny_total: audited requests enforce mode would have
// refused, by principal and API.
func newWouldDeny(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "imsguard_would_deny_total",
		Help: "Audited requests (mode audit, globally, for the principal or for the API) that enforce mode would have refused, by principal (\"none\" when not identified) and API (\"none\" when none matched).",
	}, []string{"principal", "api"})
	reg.MustRegister(c)
	return c
}

// observeWouldDeny counts an audited request enforce mode would have refused.
func observeWouldDeny(c *prometheus.CounterVec, rec *record) {
	if !rec.wouldDeny {
		return
	}
	p, api := rec.principal, rec.api
	if p == "" {
		p = "none"
	}
	if api == "" {
		api = "none"
	}
	c.WithLabelValues(p, api).Inc()
}
