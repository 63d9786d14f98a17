package proxy

import (
	"errors"
	"strings"
	"testing"
)

func FuzzParseSDKAuth(f *testing.F) {
	f.Add("SDK-HMAC-SHA256 Access=AKTESTREADER0001, SignedHeaders=x-project-id;x-sdk-date, Signature=abcdef")
	f.Add("SDK-HMAC-SHA256 Access=, SignedHeaders=, Signature=")
	f.Add("SDK-HMAC-SHA256 ,,,===")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseSDKAuth(h)
		if err != nil {
			if !errors.Is(err, ErrBadAuthorization) {
				t.Fatalf("error %v does not wrap ErrBadAuthorization", err)
			}
			if len(a.signature) >= 16 && strings.Contains(err.Error(), a.signature) {
				t.Fatalf("error leaks the signature: %v", err)
			}
			return
		}
		if a.access == "" || a.signature == "" || len(a.signedHeaders) == 0 {
			t.Fatalf("accepted an incomplete header %q", h)
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add(baseConfig)
	f.Add(minimalConfig)
	f.Add("[[principals]]\nname = \"p\"\n[[principals.attachments]]\nscope = \"project\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg, err := ParseConfig("f.toml", []byte(text))
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v is not a *ConfigError wrapping ErrInvalidConfig", err)
			}
			return
		}
		if cfg.Upstream == "" || len(cfg.Principals) == 0 {
			t.Fatalf("accepted a configuration without upstream or principals")
		}
	})
}
