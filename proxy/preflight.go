package proxy

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/imsguard/imsguard/rego/fleet"
)

// PreflightOptions select what Preflight checks beyond the files.
type PreflightOptions struct {
	// SkipHost leaves out what depends on the host the proxy runs on: binding the listen
	// addresses and opening the decision log. For a configuration checked away from its
	// host (CI), or beside a proxy already running with it, which holds the ports.
	SkipHost bool
}

// Preflight checks what NewServer does after a successful load, without serving and
// without leaving anything behind: the IAM token validator and the enterprise-project
// lookup can be built, the decision log file can be opened for appending (or created in its
// folder), the listen addresses can be bound (each is bound and released at once), and with
// opa_config OPA's plugin manager accepts the OPA configuration (fleet.CheckPlugins).
// `imsguard validate` runs it after Loader.Load, so a configuration it accepts starts. The
// errors are those NewServer would return, naming the key that moves or fixes what failed.
func Preflight(s *Snapshot, opts PreflightOptions) error {
	if s.Config.OPAConfig != "" && s.in != nil {
		// what OPA's plugin manager checks when the proxy starts its plugins
		if err := s.in.opaRedact.Error(fleet.CheckPlugins(s.src.display(s.src.resolve(s.Config.OPAConfig)), s.in.opa)); err != nil {
			return fmt.Errorf("config %s: opa_config: %w", s.Source, err)
		}
	}
	if s.iamURL != nil {
		tv, err := newTokenValidator(s.iamURL, s.iamTLS, s.Config.IAM, newMetrics().iam)
		if err != nil {
			return fmt.Errorf("config %s: iam: %w", s.Source, err)
		}
		tv.close()
	}
	if s.Config.EPLookup.enabled() {
		eps, err := newImageEPs(s.upstream, s.upTLS, s.Config.EPLookup, s.epSecret, func(string) {})
		if err != nil {
			return fmt.Errorf("config %s: enterprise_project_lookup: %w", s.Source, err)
		}
		eps.close()
	}
	if opts.SkipHost {
		return nil
	}
	if s.decisionLog != "" {
		if err := checkLogFile(s.decisionLog); err != nil {
			return decisionLogError(s, err)
		}
	}
	ln, mln, err := bindListeners(s, nil, nil)
	if err != nil {
		return err
	}
	_ = ln.Close()
	if mln != nil {
		_ = mln.Close()
	}
	return nil
}

// checkLogFile tells whether openLogFile would succeed, without creating the file or
// writing to it: an existing file is opened for appending and closed; for a missing one, a
// temporary file is created in its folder and removed.
func checkLogFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("open decision_log: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".imsguard-validate-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the name of the probe file says nothing
		}
		return fmt.Errorf("open decision_log: cannot create %s: %w", path, err)
	}
	name := tmp.Name()
	_ = tmp.Close()
	return os.Remove(name)
}

// decisionLogError is the error of a decision log file that cannot be opened, saying which
// key moves it.
func decisionLogError(s *Snapshot, err error) error {
	return fmt.Errorf("config %s: %w (create the folder or fix its permissions, or set decision_log to a writable file, or \"-\" for standard output)", s.Source, err)
}

// bindListeners listens on the configured addresses, or uses the given listeners (tests,
// the demo); mln is nil when the metrics listener is off. An address that cannot be bound
// is an error naming the key that moves it.
func bindListeners(s *Snapshot, ln, mln net.Listener) (net.Listener, net.Listener, error) {
	var err error
	if ln == nil {
		if ln, err = net.Listen("tcp", s.Config.Listen); err != nil {
			return nil, nil, listenError(s, "listen", s.Config.Listen, err)
		}
	}
	if mln == nil && s.Config.Metrics.Listen != "" {
		if mln, err = net.Listen("tcp", s.Config.Metrics.Listen); err != nil {
			_ = ln.Close()
			return nil, nil, listenError(s, "[metrics] listen", s.Config.Metrics.Listen, err)
		}
	}
	return ln, mln, nil
}

// listenError says that addr (the value of key) cannot be bound, and how to move it.
func listenError(s *Snapshot, key, addr string, err error) error {
	where := "in " + s.Source
	if s.Source == EmbeddedConfigName {
		where = "in a copy of the embedded configuration (proxy/defaults/imsguard.toml) passed with --config"
	}
	hint := fmt.Sprintf("set %s %s to an address this host can listen on", key, where)
	if errors.Is(err, syscall.EADDRINUSE) {
		hint = fmt.Sprintf("another process holds the port (is imsguard already running?); set %s %s to a free port", key, where)
	}
	if key == "[metrics] listen" {
		hint += ` (or to "" to turn the metrics listener off)`
	}
	return fmt.Errorf("%s %s: %w; %s", key, addr, err, hint)
}
