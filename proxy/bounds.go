package proxy

import (
	"fmt"
	"strings"
	"time"
)

// unit is how a bounded value is written and shown.
type unit int

const (
	unitDuration unit = iota // a Go duration string; bounds in nanoseconds
	unitBytes                // a number of bytes
	unitCount                // a number of things
)

// bound is the range of one numeric key of the configuration. Every duration, size and
// count the proxy reads is checked against one (Config.validate), and docs/proxy.md states
// each range in the key's row (TestBoundsDocumented), so the two cannot drift apart.
type bound struct {
	key      string // dotted TOML key
	unit     unit
	min, max int64 // inclusive
	// zero, when set, says what 0 means; 0 is then allowed besides min … max.
	zero string
	get  func(*Config) int64
}

func dur(d time.Duration) int64 { return int64(d) }

// bounds are the ranges of every numeric key, in file order.
var bounds = []bound{
	{key: "max_body", unit: unitBytes, min: 1, max: 64 << 20, get: func(c *Config) int64 { return c.MaxBody }},

	{key: "timeouts.read_header", min: dur(10 * time.Millisecond), max: dur(10 * time.Minute), get: func(c *Config) int64 { return dur(c.Timeouts.ReadHeader) }},
	{key: "timeouts.read", min: dur(time.Second), max: dur(168 * time.Hour), zero: "no limit", get: func(c *Config) int64 { return dur(c.Timeouts.Read) }},
	{key: "timeouts.write", min: dur(time.Second), max: dur(168 * time.Hour), zero: "no limit", get: func(c *Config) int64 { return dur(c.Timeouts.Write) }},
	{key: "timeouts.idle", min: dur(time.Second), max: dur(time.Hour), zero: "no limit", get: func(c *Config) int64 { return dur(c.Timeouts.Idle) }},
	{key: "timeouts.shutdown", min: dur(time.Second), max: dur(time.Hour), get: func(c *Config) int64 { return dur(c.Timeouts.Shutdown) }},
	{key: "timeouts.decision", min: dur(10 * time.Millisecond), max: dur(5 * time.Minute), get: func(c *Config) int64 { return dur(c.Timeouts.Decision) }},
	{key: "timeouts.upstream_dial", min: dur(10 * time.Millisecond), max: dur(5 * time.Minute), get: func(c *Config) int64 { return dur(c.Timeouts.UpstreamDial) }},
	{key: "timeouts.upstream_tls_handshake", min: dur(10 * time.Millisecond), max: dur(5 * time.Minute), get: func(c *Config) int64 { return dur(c.Timeouts.UpstreamTLSHandshake) }},
	{key: "timeouts.upstream_response_header", min: dur(10 * time.Millisecond), max: dur(time.Hour), get: func(c *Config) int64 { return dur(c.Timeouts.UpstreamResponseHeader) }},

	{key: "iam.timeout", min: dur(10 * time.Millisecond), max: dur(5 * time.Minute), get: func(c *Config) int64 { return dur(c.IAM.Timeout) }},
	{key: "iam.cache_size", unit: unitCount, min: 1, max: 1_000_000, get: func(c *Config) int64 { return int64(c.IAM.CacheSize) }},
	{key: "iam.cache_max_ttl", min: dur(time.Second), max: dur(24 * time.Hour), zero: "until the token expires", get: func(c *Config) int64 { return dur(c.IAM.CacheMaxTTL) }},
	{key: "iam.negative_cache_ttl", min: dur(time.Second), max: dur(maxNegativeCacheTTL), zero: "off", get: func(c *Config) int64 { return dur(c.IAM.NegativeCacheTTL) }},
	{key: "iam.negative_cache_size", unit: unitCount, min: 1, max: 1_000_000, get: func(c *Config) int64 { return int64(c.IAM.NegativeCacheSize) }},
	{key: "iam.max_concurrent", unit: unitCount, min: 1, max: 1024, get: func(c *Config) int64 { return int64(c.IAM.MaxConcurrent) }},
	{key: "iam.queue_wait", min: dur(time.Millisecond), max: dur(time.Minute), zero: "refuse at once", get: func(c *Config) int64 { return dur(c.IAM.QueueWait) }},

	{key: "signature.max_skew", min: dur(time.Second), max: dur(time.Hour), get: func(c *Config) int64 { return dur(c.Signature.MaxSkew) }},

	{key: "engine.cache_size", unit: unitCount, min: -1, max: 1_000_000, get: func(c *Config) int64 { return int64(c.Engine.CacheSize) }},

	{key: "enterprise_project_lookup.cache_ttl", min: dur(time.Second), max: dur(time.Hour), get: func(c *Config) int64 { return dur(c.EPLookup.CacheTTL) }},
	{key: "enterprise_project_lookup.cache_size", unit: unitCount, min: 1, max: 1_000_000, get: func(c *Config) int64 { return int64(c.EPLookup.CacheSize) }},
	{key: "enterprise_project_lookup.timeout", min: dur(10 * time.Millisecond), max: dur(5 * time.Minute), get: func(c *Config) int64 { return dur(c.EPLookup.Timeout) }},
	{key: "enterprise_project_lookup.max_concurrent", unit: unitCount, min: 1, max: 1024, get: func(c *Config) int64 { return int64(c.EPLookup.MaxConcurrent) }},
	{key: "enterprise_project_lookup.queue_wait", min: dur(time.Millisecond), max: dur(time.Minute), zero: "give up at once", get: func(c *Config) int64 { return dur(c.EPLookup.QueueWait) }},

	{key: "limits.max_inflight_decisions", unit: unitCount, min: 1, max: 100_000, zero: "half the cores", get: func(c *Config) int64 { return int64(c.Limits.MaxInflightDecisions) }},
	{key: "limits.queue_wait", min: dur(time.Millisecond), max: dur(10 * time.Second), zero: "shed at once", get: func(c *Config) int64 { return dur(c.Limits.QueueWait) }},
}

// checkBounds checks every bounded key; the first value out of its range is the error.
func (c *Config) checkBounds() error {
	for _, b := range bounds {
		if err := b.check(b.get(c)); err != nil {
			return err
		}
	}
	return nil
}

func (b bound) check(v int64) error {
	if (v >= b.min && v <= b.max) || (v == 0 && b.zero != "") {
		return nil
	}
	msg := fmt.Sprintf("%s is out of range: must be %s", b.format(v), b.allowed())
	if v < 0 && b.min >= 0 {
		msg = fmt.Sprintf("must not be negative (%s): must be %s", b.format(v), b.allowed())
	}
	return bad(-1, msg, strings.Split(b.key, ".")...)
}

// allowed says the range in an error message: "between 1s and 1h", "0 (off) or between
// 1s and 10m".
func (b bound) allowed() string {
	s := fmt.Sprintf("between %s and %s", b.format(b.min), b.format(b.max))
	if b.zero != "" {
		s = fmt.Sprintf("0 (%s) or %s", b.zero, s)
	}
	if b.unit == unitDuration {
		s += `, written with a unit such as "10s"`
	}
	return s
}

// rangeText is the range as docs/proxy.md writes it in the key's row: "1s … 1h",
// "0: off, or 1s … 10m".
func (b bound) rangeText() string {
	s := b.format(b.min) + " … " + b.format(b.max)
	if b.zero != "" {
		s = "0: " + b.zero + ", or " + s
	}
	return s
}

// format writes a value of the bound's unit the way the documentation does.
func (b bound) format(v int64) string {
	switch b.unit {
	case unitDuration:
		return formatDuration(time.Duration(v))
	case unitBytes:
		if v >= 1<<20 && v%(1<<20) == 0 {
			return fmt.Sprintf("%d MiB", v>>20)
		}
		return fmt.Sprint(v)
	default:
		return fmt.Sprint(v)
	}
}

// formatDuration writes d in its largest whole unit ("168h", "10m", "10ms"), as a
// configuration file would; time.Duration.String writes "1h0m0s".
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	default:
		return d.String()
	}
}
