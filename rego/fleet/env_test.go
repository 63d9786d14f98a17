package fleet

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/fleet/fleettest"
)

// testSecret is a value no message may show.
const testSecret = "QZXSECRETQZX"

func TestExpandEnv(t *testing.T) {
	env := map[string]string{
		"BUNDLE_TOKEN": testSecret,
		"EMPTY":        "",
		"HOST":         "cp.example.com",
		"_under9":      "u",
		"NESTED":       "${BUNDLE_TOKEN}",
		"MULTI":        testSecret + "\n" + "bundles: {}",
		"CR":           testSecret + "\r",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct {
		name, in, want string
		err            string // in the message, after "opa.yaml:"
		env            bool   // the error is ErrEnv too
	}{
		{name: "set", in: "token: \"${BUNDLE_TOKEN}\"\n", want: "token: \"" + testSecret + "\"\n"},
		{name: "empty", in: "token: \"${EMPTY}\"\n", want: "token: \"\"\n"},
		{name: "several on a line", in: "url: https://${HOST}/${_under9}/${HOST}${EMPTY}\n", want: "url: https://cp.example.com/u/cp.example.com\n"},
		{name: "no reference", in: "services: {}\n", want: "services: {}\n"},
		{name: "$VAR untouched", in: "a: $BUNDLE_TOKEN\nb: $\nc: ${HOST}\n", want: "a: $BUNDLE_TOKEN\nb: $\nc: cp.example.com\n"},
		{name: "no escape", in: "a: $${HOST}\n", want: "a: $cp.example.com\n"},
		{name: "value not expanded again", in: "a: ${NESTED}\n", want: "a: ${BUNDLE_TOKEN}\n"},
		{name: "brace without dollar", in: "a: {b: c}\n", want: "a: {b: c}\n"},
		{name: "unset", in: "services:\n  cp:\n    credentials: {bearer: {token: \"${BUNDLE_TOKEN2}\"}}\n",
			err: "opa.yaml:3: ${BUNDLE_TOKEN2} is not set in the environment; set it, or write the value in the file", env: true},
		{name: "unset after a set one on the line", in: "a: b\nurl: ${HOST}/${NOPE}\n", err: "opa.yaml:2: ${NOPE} is not set", env: true},
		{name: "empty name", in: "a: b\n\ntoken: ${}\n", err: "opa.yaml:3: ${} names no variable"},
		{name: "leading digit", in: "token: ${1TOKEN}\n", err: "opa.yaml:1: ${1TOKEN} is not a variable name"},
		{name: "dash", in: "token: ${BUNDLE-TOKEN}\n", err: "opa.yaml:1: ${BUNDLE-TOKEN} is not a variable name"},
		{name: "space", in: "token: ${ BUNDLE_TOKEN }\n", err: "opa.yaml:1: ${ BUNDLE_TOKEN } is not a variable name"},
		{name: "default syntax", in: "token: ${BUNDLE_TOKEN:-x}\n", err: "opa.yaml:1: ${BUNDLE_TOKEN:-x} is not a variable name"},
		{name: "nested", in: "token: ${A${BUNDLE_TOKEN}}\n", err: "opa.yaml:1: ${A${BUNDLE_TOKEN} is not a variable name"},
		{name: "not closed", in: "a: b\ntoken: ${BUNDLE_TOKEN\n}\n", err: "opa.yaml:2: ${ is not closed by } on the same line"},
		{name: "not closed at the end", in: "token: ${", err: "opa.yaml:1: ${ is not closed"},
		{name: "newline in the value", in: "a: b\ntoken: ${MULTI}\n", err: "opa.yaml:2: the value of ${MULTI} holds a line break", env: true},
		{name: "carriage return in the value", in: "token: ${CR}\n", err: "opa.yaml:1: the value of ${CR} holds a line break", env: true},
		{name: "in a comment", in: "# token: ${UNSET_IN_COMMENT}\na: b\n", err: "opa.yaml:1: ${UNSET_IN_COMMENT} is not set", env: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := ExpandEnv("opa.yaml", []byte(c.in), lookup)
			if c.err == "" {
				require.NoError(t, err)
				assert.Equal(t, c.want, string(out))
				return
			}
			require.Error(t, err)
			assert.Nil(t, out)
			assert.ErrorIs(t, err, ErrConfig)
			assert.Equal(t, c.env, errors.Is(err, ErrEnv), "ErrEnv")
			assert.Contains(t, err.Error(), "invalid OPA configuration: "+c.err)
			assert.NotContains(t, err.Error(), testSecret, "never the value")
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestExpandEnvNoReferenceIsTheSameSlice(t *testing.T) {
	in := []byte("services: {cp: {url: $HOST}}\n")
	out, err := ExpandEnv("opa.yaml", in, nil)
	require.NoError(t, err)
	assert.Same(t, &in[0], &out[0])
	_, err = ExpandEnv("opa.yaml", []byte("a: ${X}\n"), nil)
	assert.ErrorIs(t, err, ErrEnv, "nil lookup: nothing is set")
}

func TestRedact(t *testing.T) {
	env := map[string]string{"TOKEN": testSecret, "LONG": testSecret + "-and-more", "SHORT": "abc", "QUOTED": `a"b\c`}
	_, r, err := ExpandEnvRedact("opa.yaml", []byte("a: ${TOKEN}\nb: ${LONG}\nc: ${SHORT}\nd: '${QUOTED}'\n"),
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	assert.Equal(t, "token ${TOKEN}, long ${LONG}, short abc, quoted ${QUOTED} and ${QUOTED}",
		r.String("token "+testSecret+", long "+testSecret+"-and-more, short abc, quoted "+`a"b\c and a\"b\\c`))

	inner := errors.Join(ErrConfig, errors.New("bad token "+testSecret))
	got := r.Error(inner)
	assert.Equal(t, "invalid OPA configuration\nbad token ${TOKEN}", got.Error())
	assert.ErrorIs(t, got, ErrConfig)
	plain := errors.New("nothing secret")
	assert.Same(t, plain, r.Error(plain), "unchanged when nothing is replaced")
	assert.Nil(t, r.Error(nil))

	var none Redact
	assert.Equal(t, testSecret, none.String(testSecret))
	assert.Same(t, inner, none.Error(inner))
	_, r, err = ExpandEnvRedact("opa.yaml", []byte("no references\n"), nil)
	require.NoError(t, err)
	assert.Equal(t, testSecret, r.String(testSecret))
}

// TestStartRedacts: OPA logs the headers of its requests at debug level, masking only
// Authorization, and quotes some values in its errors; with Redact, a value that came from
// the environment shows as its reference in both.
func TestStartRedacts(t *testing.T) {
	cp := fleettest.New()
	defer cp.Close()
	raw := "services:\n  cp:\n    url: " + cp.URL + "\n    headers: {X-Api-Key: \"${API_KEY}\"}\n" +
		"bundles:\n  imsguard: {service: cp, resource: " + bundlePath + ", polling: {min_delay_seconds: 1, max_delay_seconds: 1}}\n"
	cfg, redact, err := ExpandEnvRedact("opa.yaml", []byte(raw), func(k string) (string, bool) { return testSecret, k == "API_KEY" })
	require.NoError(t, err)
	require.Contains(t, string(cfg), testSecret)
	var logs syncBuf
	acts := &activations{}
	ctx := context.Background()
	a, err := Start(ctx, Options{Config: cfg, Name: "opa.yaml", Activate: acts.activate, Redact: redact,
		Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	defer a.Stop(ctx)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "Sending request") }, 10*time.Second, 10*time.Millisecond)
	assert.NotContains(t, logs.String(), testSecret)
	assert.Contains(t, logs.String(), "${API_KEY}")

	// OPA quotes some values in its errors: an unknown key algorithm.
	raw = "services: {s: {url: 'http://x'}}\nbundles: {imsguard: {service: s, resource: b.tar.gz}}\nkeys: {k: {key: abc, algorithm: ${ALG}}}\n"
	cfg, redact, err = ExpandEnvRedact("opa.yaml", []byte(raw), func(k string) (string, bool) { return testSecret, k == "ALG" })
	require.NoError(t, err)
	_, err = Start(ctx, Options{Config: cfg, Name: "opa.yaml", Activate: acts.activate})
	require.ErrorContains(t, err, testSecret, "without Redact, OPA's error shows the value")
	_, err = Start(ctx, Options{Config: cfg, Name: "opa.yaml", Activate: acts.activate, Redact: redact})
	require.ErrorIs(t, err, ErrConfig)
	assert.NotContains(t, err.Error(), testSecret)
	assert.Contains(t, err.Error(), "${ALG}")
	assert.ErrorContains(t, redact.Error(CheckPlugins("opa.yaml", cfg)), "${ALG}")
}

// syncBuf is a goroutine-safe buffer.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FuzzExpandEnv: whatever the file, an error never holds a value, a file without "${"
// comes back as it was, and on success no value's reference is left and every value that
// was substituted can be redacted back to its reference.
func FuzzExpandEnv(f *testing.F) {
	for _, s := range []string{
		"services:\n  s: {url: \"${URL}\", credentials: {bearer: {token: \"${TOKEN}\"}}}\n",
		"a: ${}\n", "a: ${1X}\n", "a: ${UNSET}\n", "a: ${NL}\n", "a: ${TOKEN\n}", "$TOKEN ${TOKEN}${TOKEN}",
		"plain text", "${", "}${TOKEN}{",
	} {
		f.Add(s)
	}
	const secret = "s3cr3t-v4lue"
	env := map[string]string{"TOKEN": secret, "URL": "https://bundles.example/" + secret, "EMPTY": "", "NL": secret + "\nkeys: {}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	f.Fuzz(func(t *testing.T, text string) {
		out, redact, err := ExpandEnvRedact("opa.yaml", []byte(text), lookup)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error quotes a value: %v", err)
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("the error does not wrap ErrConfig: %v", err)
			}
			return
		}
		if !strings.Contains(text, "${") && string(out) != text {
			t.Fatalf("a file without ${ changed: %q → %q", text, out)
		}
		if strings.Contains(text, "${TOKEN}") && !strings.Contains(text, secret) {
			if strings.Contains(redact(string(out)), secret) {
				t.Fatalf("redacted text still holds the value: %q", redact(string(out)))
			}
		}
	})
}
