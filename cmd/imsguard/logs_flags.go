package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imsguard/imsguard/rego/decisionlog"
)

// logOptions are the decision-log flags generate, replay and unused share.
type logOptions struct {
	from       []string
	principals []string
	since      string
}

func (o *logOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.from, "from", nil, "decision log (JSON lines; gzip too, - for stdin); repeatable, and further LOG arguments are logs too")
	f.StringArrayVar(&o.principals, "principal", nil, "only this principal's requests; repeatable")
	f.StringVar(&o.since, "since", "", "only requests of this last period (a Go duration, or days: 7d)")
}

// paths returns the logs: --from and the positional arguments.
func (o *logOptions) paths(args []string) ([]string, error) {
	paths := append(append([]string(nil), o.from...), args...)
	if len(paths) == 0 {
		return nil, usageError("give the decision logs with --from LOG (several: --from a --from b, or --from a b c)")
	}
	stdin := 0
	for _, p := range paths {
		if p == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return nil, usageError("standard input (-) can be read once")
	}
	return paths, nil
}

// filter builds the read filter; now is the end of the --since window.
func (o *logOptions) filter(now time.Time) (decisionlog.Filter, error) {
	f := decisionlog.Filter{Principals: o.principals}
	if o.since != "" {
		d, err := parseSince(o.since)
		if err != nil {
			return f, usageError("--since: %v", err)
		}
		f.Since = now.Add(-d)
	}
	return f, nil
}

// parseSince reads a Go duration or a number of days ("7d").
func parseSince(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("%q is not a number of days like 7d", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration like 24h or 7d", s)
	}
	return d, nil
}

// readErr maps a log read error to exit 2.
func readErr(err error) error { return &exitError{code: 2, err: err} }

// logSource says in one line where the requests came from.
func logSource(st decisionlog.Stats) string {
	s := fmt.Sprintf("%s (%s", strings.Join(st.Files, ", "), countText(st.Kept, "decision line"))
	if !st.First.IsZero() {
		s += ", " + st.First.UTC().Format(time.RFC3339) + " to " + st.Last.UTC().Format(time.RFC3339)
	}
	return s + ")"
}

// logNotes says what the read skipped.
func logNotes(st decisionlog.Stats) []string {
	var out []string
	if st.Malformed > 0 {
		out = append(out, fmt.Sprintf("%s not read (not a JSON object: a torn line, another program's output), first at %s", countText(st.Malformed, "line"), st.FirstMalformed))
	}
	if st.Duplicates > 0 {
		out = append(out, fmt.Sprintf("%s read twice (overlapping logs), counted once", countText(st.Duplicates, "decision line")))
	}
	return out
}

// principalsOf lists the principals of a read, sorted, the unidentified left out.
func principalsOf(st decisionlog.Stats) []string {
	var out []string
	for p := range st.Principals {
		if p != "" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// countText is "1 word" or "N words".
func countText(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
