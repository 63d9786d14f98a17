package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/logging"
)

// slogLogger is OPA's logging.Logger writing to a log/slog logger, with component=opa and
// OPA's fields as attributes. The level follows the slog handler's. With redact, the
// message and every field go through it (a field whose text it changes becomes that text):
// OPA logs request URLs and headers other than Authorization at debug level.
type slogLogger struct {
	log    *slog.Logger
	fields map[string]any
	redact Redact
}

func newSlogLogger(log *slog.Logger, redact Redact) *slogLogger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &slogLogger{log: log.With("component", "opa"), redact: redact}
}

func (l *slogLogger) emit(level slog.Level, format string, a []any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(l.fields))
	for _, k := range slices.Sorted(maps.Keys(l.fields)) {
		v := l.fields[k]
		if l.redact != nil {
			if s := fmt.Sprint(v); l.redact(s) != s {
				v = l.redact(s)
			}
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	l.log.LogAttrs(ctx, level, l.redact.String(fmt.Sprintf(format, a...)), attrs...)
}

func (l *slogLogger) Debug(f string, a ...any) { l.emit(slog.LevelDebug, f, a) }
func (l *slogLogger) Info(f string, a ...any)  { l.emit(slog.LevelInfo, f, a) }
func (l *slogLogger) Warn(f string, a ...any)  { l.emit(slog.LevelWarn, f, a) }
func (l *slogLogger) Error(f string, a ...any) { l.emit(slog.LevelError, f, a) }

func (l *slogLogger) WithFields(fields map[string]any) logging.Logger {
	merged := maps.Clone(l.fields)
	if merged == nil {
		merged = map[string]any{}
	}
	maps.Copy(merged, fields)
	return &slogLogger{log: l.log, fields: merged, redact: l.redact}
}

// GetLevel reports the most verbose level the slog handler takes.
func (l *slogLogger) GetLevel() logging.Level {
	ctx := context.Background()
	switch {
	case l.log.Enabled(ctx, slog.LevelDebug):
		return logging.Debug
	case l.log.Enabled(ctx, slog.LevelInfo):
		return logging.Info
	case l.log.Enabled(ctx, slog.LevelWarn):
		return logging.Warn
	default:
		return logging.Error
	}
}

// SetLevel does nothing: the level is the slog handler's.
func (l *slogLogger) SetLevel(logging.Level) {}
