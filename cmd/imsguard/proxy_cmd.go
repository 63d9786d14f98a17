package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/proxy"
	"github.com/imsguard/imsguard/rego/authz"
	"github.com/imsguard/imsguard/rego/fleet"
	"github.com/imsguard/imsguard/rego/lint"
)

type proxyOptions struct {
	config   string
	noWatch  bool
	logLevel string
}

func newProxyCmd(g *globalOptions) *cobra.Command {
	o := &proxyOptions{}
	cmd := &cobra.Command{
		Use:   "proxy [--config FILE]",
		Short: "Run the enforcing reverse proxy in front of IMS",
		Long: `Run imsguard as a reverse proxy in front of the Image Management Service. Every request is
matched to one IMS API, its caller identified (AK/SK signature, IAM token, or the configured
default principal) and checked against the caller's IAM policies before it is forwarded;
anything that cannot be decided is denied.

Without --config the embedded default runs: listen on 127.0.0.1:8443, forward to
https://ims.ae-ad-1.g42cloud.com, callers without a credential act as "workload", which may
only read images. See docs/proxy.md for the configuration file.

Decision lines (JSON) go to standard output unless decision_log names a file; operational
messages go to standard error. The configuration and policy files are reloaded when they
change; SIGHUP reloads them if they changed and reopens the decision log file (log
rotation); SIGINT/SIGTERM drain in-flight requests and stop.

With opa_config in the configuration, principals and policies come from an OPA bundle and
decisions also go to OPA's decision_logs plugin (docs/fleet.md). Requests are traced with
OpenTelemetry: an incoming traceparent is honoured and the trace id is in every decision
line; spans are exported over OTLP when the OTEL_* environment variables ask for it
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER=otlp), not otherwise.`,
		Args: exactArgs(0, "no arguments (use --config)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			level, err := parseLevel(o.logLevel)
			if err != nil {
				return err
			}
			loader, err := newProxyLoader(cmd.Context(), g, o.config)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			tracing, err := proxy.NewTracing(cmd.Context(), nil)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if tracing.Exporting() {
				log.Info("exporting traces over OTLP", "endpoint", tracing.Endpoint)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 5*time.Second)
				defer cancel()
				if err := tracing.Shutdown(ctx); err != nil {
					log.Warn("exporting the last spans failed", "error", err)
				}
			}()
			srv, err := proxy.NewServer(cmd.Context(), proxy.Options{
				Loader:  loader,
				Log:     log,
				Stdout:  cmd.OutOrStdout(),
				Watch:   !o.noWatch && o.config != "",
				Tracing: tracing,
			})
			if err != nil {
				return configError(err)
			}
			return runWithReloadSignal(cmd.Context(), srv)
		},
	}
	cmd.Flags().StringVar(&o.config, "config", "", "configuration `FILE` (TOML); default: the embedded configuration")
	cmd.Flags().BoolVar(&o.noWatch, "no-watch", false, "do not reload when files change (SIGHUP still reloads)")
	cmd.Flags().StringVar(&o.logLevel, "log-level", "info", "operational log level: debug, info, warn or error")
	return cmd
}

// newProxyLoader is the one load path of proxy and validate: the catalog (or --catalog),
// the configuration file (or the embedded default), policies linted by the Rego linter
// with the [lint] table of the same file, read again on every load (the Loader's default).
func newProxyLoader(ctx context.Context, g *globalOptions, config string) (*proxy.Loader, error) {
	cat, err := g.loadCatalog()
	if err != nil {
		return nil, err
	}
	rt, err := authz.Prepare(ctx)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	linters := proxy.NewLinters(cat)
	// Compile the default rules now: a broken rule set is an internal error (exit 2), not
	// a configuration error found on the first load.
	if _, err := linters.Linter(ctx, lint.Options{}); err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return &proxy.Loader{ConfigPath: config, Catalog: cat, Linters: linters, Runtime: rt, Engines: rt.NewEngines()}, nil
}

// runWithReloadSignal serves until ctx ends; on SIGHUP it calls Server.Hangup (reload when
// the files changed, reopen the decision log).
func runWithReloadSignal(ctx context.Context, srv *proxy.Server) error {
	// SIGPIPE is caught, so a decision log on a closed standard output fails its writes
	// (counted, retried, decision_log_required) instead of killing the process.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = srv.Hangup(ctx) // logged and counted by the server; the last good set stays
			}
		}
	}()
	return srv.Run(ctx)
}

// configError maps load errors: a configuration or policy that is wrong is exit 1 (the
// answer is "no"), anything else (files missing, ports taken, an environment variable the
// opa_config file names not set) exit 2. The message is kept on one line.
func configError(err error) error {
	code := 2
	env := errors.Is(err, fleet.ErrEnv) // the file is fine, the environment is not: as a secret_key_env not set
	if !env && (errors.Is(err, proxy.ErrInvalidConfig) || errors.Is(err, proxy.ErrPolicyLint) || errors.Is(err, lint.ErrConfig) || isPolicyError(err) ||
		errors.Is(err, proxy.ErrBundle) || errors.Is(err, fleet.ErrConfig)) {
		code = 1
	}
	return &exitError{code: code, err: oneLine(err)}
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, usageError("unknown --log-level %q (use debug, info, warn or error)", s)
	}
	return l, nil
}

// oneLine joins a multi-line error (several lint findings) into one line.
func oneLine(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	return &flatError{msg: strings.ReplaceAll(msg, "\n", "; "), err: err}
}

// flatError is err with its message on one line; errors.Is/As still see err.
type flatError struct {
	msg string
	err error
}

func (e *flatError) Error() string { return e.msg }
func (e *flatError) Unwrap() error { return e.err }

func isPolicyError(err error) bool {
	return errors.Is(err, authz.ErrInvalidPolicy) || errors.Is(err, authz.ErrInvalidScope)
}
