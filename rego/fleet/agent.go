package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/config"
	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/plugins/bundle"
	"github.com/open-policy-agent/opa/v1/plugins/discovery"
	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/plugins/status"
	"github.com/open-policy-agent/opa/v1/runtime/info"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
)

// ErrConfig is wrapped by errors in an OPA configuration.
var ErrConfig = errors.New("invalid OPA configuration")

// Options configure an Agent. Config and Activate are required.
type Options struct {
	// Config is the OPA configuration file's content (YAML or JSON): services, bundles
	// (one named "imsguard"), keys, decision_logs, status, labels, persistence_directory,
	// discovery. Name names it in errors.
	Config []byte
	Name   string
	// ID is the instance id, in labels.id of decision-log events and status reports;
	// empty: a random UUID.
	ID string
	// Log receives OPA's operational messages (component=opa); nil discards them.
	Log *slog.Logger
	// Activate checks and prepares each new imsguard bundle before OPA activates it (see
	// ActivateFunc).
	Activate ActivateFunc
	// Failed, when set, is called when an attempt to get the imsguard bundle failed
	// before Activate saw it: the server unreachable, a bad signature, a bundle OPA
	// cannot read. Its message is OPA's.
	Failed func(message string)
	// QueueSize bounds the decision events waiting to be handed to the decision_logs
	// plugin (default 10000); beyond it, events are dropped and counted (Dropped).
	QueueSize int
	// Redact, when Config was expanded by ExpandEnvRedact, is its Redact: Start's errors,
	// OPA's log lines and the messages given to Failed go through it, so they never show a
	// value substituted into Config.
	Redact Redact
}

// Agent is OPA's plugin manager with the plugins an OPA configuration enables (bundle,
// decision_logs, status, discovery), started by Start and stopped by Stop. Safe for
// concurrent use.
type Agent struct {
	manager *plugins.Manager
	store   *vetoStore
	failed  func(string)
	vetoes  atomic.Uint64 // vetoed commits, to tell a refusal from a failure
	seen    atomic.Uint64 // vetoes when the bundle listener last ran

	events  chan *Event
	dropped atomic.Uint64
	quit    chan struct{}
	done    chan struct{}
	stop    sync.Once

	listenMu  sync.Mutex
	listening bool
}

// CheckConfig parses an OPA configuration as Start does and checks that it gets the
// imsguard bundle: a `bundles` entry named "imsguard" (unless discovery configures the
// bundles). It returns warnings worth logging (a bundle whose signature is not checked,
// OPA's own warnings about unknown keys).
func CheckConfig(name string, data []byte) (warnings []string, err error) {
	cfg, err := config.ParseConfig(data, "check")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, name, err)
	}
	for _, w := range cfg.Warnings {
		warnings = append(warnings, name+": "+w)
	}
	if len(cfg.Discovery) > 0 {
		return warnings, nil
	}
	if len(cfg.Bundle) > 0 {
		return nil, fmt.Errorf("%w: %s: the deprecated `bundle` key is not supported; configure `bundles: {%s: {service: ..., resource: ...}}`", ErrConfig, name, Name)
	}
	var bundles map[string]struct {
		Signing *struct {
			KeyID string `json:"keyid"`
		} `json:"signing"`
	}
	if len(cfg.Bundles) > 0 {
		if err := util.Unmarshal(cfg.Bundles, &bundles); err != nil {
			return nil, fmt.Errorf("%w: %s: bundles: %v", ErrConfig, name, err)
		}
	}
	b, ok := bundles[Name]
	if !ok {
		return nil, fmt.Errorf("%w: %s: no bundle named %q under `bundles`: the principals and policies come from it (see docs/fleet.md)", ErrConfig, name, Name)
	}
	if b.Signing == nil && len(cfg.Keys) == 0 {
		warnings = append(warnings, fmt.Sprintf("%s: bundle %q is not signed (no `keys`, no `signing`): whoever can change the bundle server changes every sidecar's policies; sign bundles (docs/fleet.md)", name, Name))
	}
	return warnings, nil
}

// CheckPlugins builds what Start builds from an OPA configuration, without starting
// anything or contacting a server: the services and their credentials settings, the keys,
// and the bundle, decision_logs and status plugin configurations, as OPA's plugin manager
// validates them. It finds what CheckConfig cannot (a bundle naming an unknown service or
// key, a malformed key, a bad reporting setting), so a configuration `imsguard validate`
// accepts starts.
func CheckPlugins(name string, data []byte) error {
	if _, err := CheckConfig(name, data); err != nil {
		return err
	}
	m, err := plugins.New(data, "check", inmem.New(), plugins.Logger(logging.NewNoOpLogger()), plugins.ConsoleLogger(logging.NewNoOpLogger()))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrConfig, name, err)
	}
	defer m.Stop(context.Background())
	cfg := m.GetConfig()
	if len(cfg.Plugins) > 0 {
		return fmt.Errorf("%w: %s: plugins: custom OPA plugins are not available in imsguard; remove the plugins section", ErrConfig, name)
	}
	if len(cfg.Discovery) > 0 {
		return nil // the discovery bundle configures the plugins at run time
	}
	if _, err := bundle.NewConfigBuilder().WithBytes(cfg.Bundles).WithServices(m.Services()).WithKeyConfigs(m.PublicKeys()).Parse(); err != nil {
		return fmt.Errorf("%w: %s: bundles: %v", ErrConfig, name, err)
	}
	if _, err := logs.NewConfigBuilder().WithBytes(cfg.DecisionLogs).WithServices(m.Services()).Parse(); err != nil {
		return fmt.Errorf("%w: %s: decision_logs: %v", ErrConfig, name, err)
	}
	if _, err := status.NewConfigBuilder().WithBytes(cfg.Status).WithServices(m.Services()).Parse(); err != nil {
		return fmt.Errorf("%w: %s: status: %v", ErrConfig, name, err)
	}
	return nil
}

// Start builds OPA's plugin manager from o.Config with a store that vetoes imsguard
// bundles o.Activate refuses, and starts the plugins. A persisted bundle (persist: true)
// is activated before Start returns; downloads, uploads and status reports run in the
// background until Stop.
func Start(ctx context.Context, o Options) (*Agent, error) {
	a, err := start(ctx, o)
	return a, o.Redact.Error(err)
}

// start is Start, its errors not redacted yet.
func start(ctx context.Context, o Options) (*Agent, error) {
	if o.Activate == nil {
		return nil, errors.New("fleet: no Activate function")
	}
	if _, err := CheckConfig(o.Name, o.Config); err != nil {
		return nil, err
	}
	id := o.ID
	if id == "" {
		var err error
		if id, err = newUUID(); err != nil {
			return nil, err
		}
	}
	a := &Agent{failed: o.Failed, quit: make(chan struct{}), done: make(chan struct{})}
	if o.Failed != nil && o.Redact != nil {
		a.failed = func(msg string) { o.Failed(o.Redact(msg)) }
	}
	a.store = newVetoStore(inmem.New(), func(ctx context.Context, b *Bundle) (func(bool), error) {
		finish, err := o.Activate(ctx, b)
		if err != nil {
			a.vetoes.Add(1)
		}
		return finish, err
	})
	rt, err := runtimeInfo(o.Config)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, o.Name, err)
	}
	logger := newSlogLogger(o.Log, o.Redact)
	m, err := plugins.New(o.Config, id, a.store,
		plugins.Info(rt),
		plugins.Logger(logger),
		plugins.ConsoleLogger(logger),
		plugins.WithParserOptions(ast.ParserOptions{RegoVersion: ast.RegoV1}),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, o.Name, err)
	}
	a.manager = m
	var boot map[string]any
	if err := util.Unmarshal(o.Config, &boot); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, o.Name, err)
	}
	d, err := discovery.New(m, discovery.BootConfig(boot))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, o.Name, err)
	}
	m.Register(discovery.Name, d)
	// The bundle plugin exists now unless discovery configures it later; then it is
	// found when it reports its first status.
	a.listen()
	m.RegisterPluginStatusListener("imsguard", func(map[string]*plugins.Status) { a.listen() })
	size := o.QueueSize
	if size <= 0 {
		size = 10000
	}
	a.events = make(chan *Event, size)
	go a.ship()
	if err := m.Start(ctx); err != nil {
		a.Stop(ctx)
		return nil, fmt.Errorf("start OPA plugins (%s): %w", o.Name, err)
	}
	return a, nil
}

// listen registers the bundle listener once the bundle plugin exists.
func (a *Agent) listen() {
	a.listenMu.Lock()
	defer a.listenMu.Unlock()
	if a.listening {
		return
	}
	bp := bundle.Lookup(a.manager)
	if bp == nil {
		return
	}
	a.listening = true
	a.seen.Store(a.vetoes.Load())
	bp.Register("imsguard", func(s bundle.Status) {
		if s.Name != Name {
			return
		}
		vetoes := a.vetoes.Load()
		refused := a.seen.Swap(vetoes) != vetoes
		if s.Code == "" && s.Message == "" && len(s.Errors) == 0 || refused {
			return
		}
		if a.failed != nil {
			msg := s.Message
			if msg == "" && len(s.Errors) > 0 {
				msg = s.Errors[0].Error()
			}
			a.failed(msg)
		}
	})
}

// runtimeInfo is what OPA's opa.runtime() returns to a discovery bundle's policy: the
// configuration without service credentials and private keys (OPA's ActiveConfig), and
// OPA's version — but not the environment, which holds the sidecar's secret keys.
func runtimeInfo(raw []byte) (*ast.Term, error) {
	cfg, err := config.ParseConfig(raw, "info")
	if err != nil {
		return nil, err
	}
	active, err := cfg.ActiveConfig()
	if err != nil {
		return nil, err
	}
	redacted, err := json.Marshal(active)
	if err != nil {
		return nil, err
	}
	t, err := info.NewWithOptions(info.Options{Config: redacted})
	if err != nil {
		return nil, err
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return t, nil
	}
	out := ast.NewObject()
	obj.Foreach(func(k, v *ast.Term) {
		if !k.Equal(ast.StringTerm("env")) {
			out.Insert(k, v)
		}
	})
	return ast.NewTerm(out), nil
}

// SetState reports imsguard's own state through the status plugin, as the plugin
// "imsguard": ok with a message such as the revision in use, or not ready.
func (a *Agent) SetState(ok bool, message string) {
	st := &plugins.Status{State: plugins.StateNotReady, Message: message}
	if ok {
		st.State = plugins.StateOK
	}
	a.manager.UpdatePluginStatus("imsguard", st)
}

// Stop stops shipping decision events (handing those queued to the decision_logs plugin
// first) and stops the plugins; with a deadline on ctx, the decision_logs plugin uploads
// what it buffered before it stops. Stop is idempotent.
func (a *Agent) Stop(ctx context.Context) {
	a.stop.Do(func() {
		close(a.quit)
		if a.events != nil {
			select {
			case <-a.done:
			case <-ctx.Done():
			}
		}
		a.manager.Stop(ctx)
	})
}

// logsPlugin returns the decision_logs plugin, nil when the configuration has none.
func (a *Agent) logsPlugin() *logs.Plugin { return logs.Lookup(a.manager) }

// Trigger asks the bundle plugin to download the bundles now (also in manual trigger
// mode) and returns when the attempt is over, activated or not; a failure is handled and
// reported as any attempt's. It returns an error only when there is no bundle plugin.
func (a *Agent) Trigger(ctx context.Context) error {
	bp := bundle.Lookup(a.manager)
	if bp == nil {
		return errors.New("no bundle plugin is configured")
	}
	_ = bp.Trigger(ctx) // failures are in the bundle status, logged and counted
	return nil
}
