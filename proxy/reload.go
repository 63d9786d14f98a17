package proxy

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/imsguard/imsguard/rego/fleet"
)

// Reload re-reads the configuration and policy files, lints and compiles them, and swaps
// the new set in atomically, always: it installs a new generation even when no file
// changed (Hangup, what SIGHUP does, skips unchanged files). On any error the last good set
// stays in use, the failure is logged and counted, and the error is returned. Requests in
// flight finish with the set they started with. Settings that need a restart (listeners,
// decision_log, server timeouts, switching server_tls on or off) keep their running values;
// a change to them is logged. A renewed server certificate is picked up.
func (srv *Server) Reload(ctx context.Context) error {
	_, err := srv.reload(ctx, false)
	return err
}

// Hangup is what the proxy does on SIGHUP: it reloads like Reload, but only when the
// configuration, policy, CA or certificate files changed (their digest differs from the set
// in use); unchanged files keep the generation in use and log that they did. Then it
// reopens the decision log file (ReopenDecisionLog), whether or not the reload succeeded.
// With opa_config, it also asks the bundle server for a new revision now, in the
// background. Errors are handled as by Reload and ReopenDecisionLog and returned joined.
func (srv *Server) Hangup(ctx context.Context) error {
	installed, err := srv.reload(ctx, true)
	if err == nil && !installed {
		srv.log.Info("configuration and policy files unchanged; nothing reloaded", "generation", srv.current.Load().Generation)
	}
	srv.triggerBundle(ctx)
	return errors.Join(err, srv.ReopenDecisionLog())
}

// reload is Reload; ifChanged skips the swap (and compiling) when the files are unchanged.
// installed reports whether a new generation was installed.
func (srv *Server) reload(ctx context.Context, ifChanged bool) (installed bool, err error) {
	srv.reloadMu.Lock()
	defer srv.reloadMu.Unlock()
	defer srv.reloadAttempts.Add(1) // on return, still under reloadMu: the outcome is logged and counted by then
	old := srv.current.Load()
	skip := ""
	if ifChanged {
		skip = old.fileDigest
	}
	var b *fleet.Bundle // the bundle in use stays in use (opa_config)
	if old.bundle != nil {
		b = old.bundle.raw
	}
	s, err := srv.loader.load(ctx, skip, b)
	if errors.Is(err, errUnchanged) {
		return false, nil
	}
	if err == nil && (s.Config.OPAConfig == "") != (srv.started.OPAConfig == "") {
		err = errors.New("opa_config: switching between local principals and an OPA bundle needs a restart")
	}
	if err == nil {
		err = srv.install(s, old)
	}
	if err != nil {
		srv.metrics.reloadFailures.Inc()
		srv.log.Error("reload failed; keeping the last good configuration", "generation", old.Generation, "error", err)
		return false, err
	}
	srv.metrics.reloads.Inc()
	for _, k := range restartOnly(srv.started, s.Config) {
		srv.log.Warn("setting changed but needs a restart; the running value is kept", "key", k)
	}
	if old.in != nil && s.in != nil && !bytes.Equal(old.in.opa, s.in.opa) && s.Config.OPAConfig == old.Config.OPAConfig {
		srv.log.Warn("the opa_config file changed but needs a restart; OPA's plugins keep the configuration they started with", "file", s.Config.OPAConfig)
	}
	srv.log.Info("reloaded", "generation", s.Generation, "digest", s.Digest[:16], "files", len(s.Files), "mode", s.Config.Mode)
	return true, nil
}

// restartOnly lists the settings that differ between a and b and only apply at start.
func restartOnly(a, b *Config) []string {
	var out []string
	if a.Listen != b.Listen {
		out = append(out, "listen")
	}
	if a.Metrics.Listen != b.Metrics.Listen {
		out = append(out, "metrics.listen")
	}
	if a.DecisionLog != b.DecisionLog {
		out = append(out, "decision_log")
	}
	if a.OPAConfig != b.OPAConfig {
		out = append(out, "opa_config")
	}
	if (a.ServerTLS.CertFile == "") != (b.ServerTLS.CertFile == "") {
		out = append(out, "server_tls (switching TLS on or off)")
	}
	at, bt := a.Timeouts, b.Timeouts
	if at.ReadHeader != bt.ReadHeader || at.Read != bt.Read || at.Write != bt.Write || at.Idle != bt.Idle || at.Shutdown != bt.Shutdown {
		out = append(out, "timeouts (read_header, read, write, idle, shutdown)")
	}
	return out
}

// watch reloads (when the files changed) after file events in the watched folders settle.
// It returns when ctx is done.
func (srv *Server) watch(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		srv.log.Error("file watching unavailable; reload with SIGHUP", "error", err)
		return
	}
	defer w.Close()
	watched := map[string]bool{}
	sync := func() {
		want := map[string]bool{}
		for _, d := range srv.current.Load().watch {
			want[d] = true
			if !watched[d] {
				if err := w.Add(d); err != nil {
					srv.log.Warn("cannot watch folder", "folder", d, "error", err)
					continue
				}
				watched[d] = true
			}
		}
		for d := range watched {
			if !want[d] {
				_ = w.Remove(d)
				delete(watched, d)
			}
		}
	}
	sync()
	srv.log.Debug("watching the configuration and policy folders", "folders", slices.Sorted(maps.Keys(watched)))
	debounce := srv.opts.Debounce
	if debounce <= 0 {
		debounce = 200 * time.Millisecond
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if relevantEvent(ev) {
				timer.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			srv.log.Warn("file watch error", "error", err)
			timer.Reset(debounce)
		case <-timer.C:
			_, _ = srv.reload(ctx, true) // failures are logged and counted
			sync()
		}
	}
}

// relevantEvent filters out events that cannot change the configuration: permission
// changes and files that are neither TOML, JSON, folders nor Kubernetes' ..data links
// (the decision log, editor swap files).
func relevantEvent(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	base := filepath.Base(ev.Name)
	if strings.HasPrefix(base, "..") {
		return true
	}
	switch ext := filepath.Ext(base); ext {
	case ".toml", ".json", ".rego", "":
		return true
	default:
		return false
	}
}
