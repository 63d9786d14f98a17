package proxy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
	"github.com/imsguard/imsguard/policy"
	"github.com/imsguard/imsguard/rego/authz"
)

const minimalConfig = `upstream = "https://ims.example"
[[principals]]
name = "p"
policies = ["p.json"]
`

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("c.toml", []byte(minimalConfig))
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8443", cfg.Listen)
	assert.Equal(t, ModeEnforce, cfg.Mode)
	assert.Equal(t, "ae-ad-1", cfg.Project)
	assert.Equal(t, actions.DefaultMaxBody, cfg.MaxBody)
	assert.Equal(t, "-", cfg.DecisionLog)
	assert.Equal(t, "127.0.0.1:8444", cfg.Metrics.Listen, "beside 8443; Prometheus and its exporters hold 9090-9999")
	assert.Equal(t, 10*time.Second, cfg.Timeouts.ReadHeader)
	assert.Equal(t, time.Duration(0), cfg.Timeouts.Read, "no whole-request limit: uploads are long")
	assert.Equal(t, 15*time.Minute, cfg.Signature.MaxSkew)
	assert.False(t, cfg.UpstreamTLS.InsecureSkipVerify, "TLS is verified by default")
	assert.Equal(t, 10000, cfg.IAM.CacheSize)
	assert.Zero(t, cfg.Limits.MaxInflightDecisions, "derived from GOMAXPROCS")
	assert.Equal(t, 50*time.Millisecond, cfg.Limits.QueueWait)
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		text string
		line int
		key  string
		msg  string
	}{
		{"unknown top-level key", "upstream = \"https://x\"\nlisten_addr = \"x\"\n", 2, "listen_addr", "unknown key"},
		{"unknown nested key", minimalConfig + "\n[iam]\nendpoint = \"https://iam\"\ncache = 5\n", 8, "iam.cache", "unknown key"},
		{"unknown principal key", minimalConfig + "role = \"x\"\n", 5, "principals.role", "unknown key"},
		{"syntax error", "upstream = \n", 1, "", "expected value"},
		{"wrong type", "upstream = 5\n", 1, "upstream", "incompatible"},
		{"bad duration", minimalConfig + "[timeouts]\nidle = \"forever\"\n", 6, "", "forever"},
		{"missing upstream", "[[principals]]\nname = \"p\"\n", 0, "upstream", "is required"},
		{"upstream with query", "upstream = \"https://x/?a=b\"\n", 1, "upstream", "query"},
		{"upstream ftp", "upstream = \"ftp://x\"\n", 1, "upstream", "https://"},
		{"bad mode", "mode = \"permissive\"\n" + minimalConfig, 1, "mode", "enforce"},
		{"bad listen", "listen = \"8443\"\n" + minimalConfig, 1, "listen", "host:port"},
		{"bad trusted proxy", "trusted_proxies = [\"10.0.0.0/33\"]\n" + minimalConfig, 1, "trusted_proxies", "CIDR"},
		{"no principals", "upstream = \"https://x\"\n", 0, "principals", "at least one"},
		{"duplicate principal", minimalConfig + "[[principals]]\nname = \"p\"\n", 6, "principals.name", "defined twice"},
		{"duplicate access key", "upstream = \"https://x\"\n[[principals]]\nname = \"a\"\naccess_keys = [\"AKAAAAAAAAAA\"]\n[[principals]]\nname = \"b\"\naccess_keys = [\"AKAAAAAAAAAA\"]\n", 7, "principals.access_keys", "AKAA****"},
		{"secret env for unknown key", "upstream = \"https://x\"\n[[principals]]\nname = \"a\"\nsecret_key_env = { AKAAAAAAAAAA = \"X\" }\n", 4, "principals.secret_key_env", "not in its access_keys"},
		{"secret in file", "upstream = \"https://x\"\n[[principals]]\nname = \"a\"\naccess_keys = [\"AKAAAAAAAAAA\"]\nsecret_key_env = { AKAAAAAAAAAA = \"s3cr3t/value+\" }\n", 5, "principals.secret_key_env", "environment variable name"},
		{"bad default principal", "default_principal = \"nobody\"\n" + minimalConfig, 1, "default_principal", "not the name"},
		{"project scope without projects", minimalConfig + "[[principals.attachments]]\npolicy = \"x.json\"\nscope = \"project\"\n", 5, "principals.attachments.projects", "exactly when"},
		{"bad scope", minimalConfig + "[[principals.attachments]]\npolicy = \"x.json\"\nscope = \"domain\"\n", 7, "principals.attachments.scope", "all_projects"},
		{"second attachment located", minimalConfig + "[[principals.attachments]]\npolicy = \"x.json\"\nscope = \"global\"\n[[principals.attachments]]\npolicy = \"y.json\"\nscope = \"galactic\"\n", 10, "principals.attachments.scope", "galactic"},
		{"half server tls", minimalConfig + "[server_tls]\ncert_file = \"c.pem\"\n", 6, "server_tls.cert_file", "together"},
		{"negative timeout", minimalConfig + "[timeouts]\nread = \"-1s\"\n", 6, "timeouts.read", "negative"},
		{"bare integer duration", minimalConfig + "[timeouts]\ndecision = 5\n", 6, "timeouts.decision", `a bare 5 would be read as 5 nanoseconds; write decision = "5s"`},
		{"bare integer skew", minimalConfig + "[signature]\nmax_skew = 900\n", 6, "signature.max_skew", `write max_skew = "900s"`},
		{"bare zero duration", minimalConfig + "[iam]\nnegative_cache_ttl = 0\n", 6, "iam.negative_cache_ttl", `write negative_cache_ttl = "0s"`},
		{"float duration", minimalConfig + "[timeouts]\ndecision = 1.5\n", 6, "timeouts.decision", `a duration is a string with a unit`},
		{"bad duration names the key", minimalConfig + "[timeouts]\nidle = \"5 seconds\"\n", 6, "timeouts.idle", `"10s"`},
		{"skew out of range", minimalConfig + "[signature]\nmax_skew = \"2h\"\n", 6, "signature.max_skew", "2h is out of range: must be between 1s and 1h"},
		{"nanosecond decision", minimalConfig + "[timeouts]\ndecision = \"5ns\"\n", 6, "timeouts.decision", "between 10ms and 5m"},
		{"syntax error with column", "upstream = \"https://x\"\ndefault_principal = \"w\n", 2, "", "config c.toml:2:23: TOML syntax error: strings cannot contain newlines"},
		{"syntax error column in code points", "upstream = \"https://x\"\nproject = \"é\" x\n", 2, "", "config c.toml:2:14: TOML syntax error"}, // the é counts once,
		{"unknown table did you mean", minimalConfig + "[timeout]\ndecision = \"5s\"\n", 5, "timeout", `did you mean "timeouts"?`},
		{"unknown key did you mean", minimalConfig + "[iam]\ntimout = \"5s\"\n", 6, "iam.timout", `did you mean "timeout"?`},
		{"key of another table", "cache_ttl = \"1s\"\n" + minimalConfig, 1, "cache_ttl", "cache_ttl is a key of [enterprise_project_lookup]"},
		{"port out of range", "listen = \"127.0.0.1:70000\"\n" + minimalConfig, 1, "listen", "from 0 to 65535"},
		{"metrics on the proxy's address", "listen = \"0.0.0.0:8443\"\n" + minimalConfig + "[metrics]\nlisten = \"127.0.0.1:8443\"\n", 7, "metrics.listen", "also the address of listen"},
		{"negative decision bound", minimalConfig + "[limits]\nmax_inflight_decisions = -1\n", 6, "limits.max_inflight_decisions", "0 (half the cores) or between 1 and 100000"},
		{"long queue wait", minimalConfig + "[limits]\nqueue_wait = \"1m\"\n", 6, "limits.queue_wait", "10s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("c.toml", []byte(tc.text))
			require.Error(t, err)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Equal(t, tc.line, ce.Line, err.Error())
			if tc.key != "" {
				assert.Equal(t, tc.key, ce.Key)
			}
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "config c.toml"), err.Error())
			assert.Equal(t, strings.Contains(tc.name, "syntax"), errors.Is(err, ErrTOMLSyntax), "only a syntax error is a TOML syntax error: %v", err)
			if tc.line > 0 {
				assert.Contains(t, err.Error(), "c.toml:")
			}
		})
	}
}

func TestEmbeddedDefaultLoads(t *testing.T) {
	l := &Loader{Catalog: testCatalog(t)}
	s, err := l.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, EmbeddedConfigName, s.Source)
	assert.Equal(t, "https://ims.ae-ad-1.g42cloud.com", s.Config.Upstream)
	assert.Equal(t, "workload", s.Config.DefaultPrincipal)
	p, ok := s.Principal("workload")
	require.True(t, ok)
	require.Len(t, p.Attachments, 1)
	assert.Equal(t, "policies/ims-readonly.json", p.Attachments[0].Name)
	assert.Empty(t, s.watch, "nothing to watch in the embedded configuration")
}

func TestLoaderResolvesAndRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) { writeTree(t, dir, map[string]string{name: content}) }
	write("conf/imsguard.toml", `upstream = "https://ims.example"
decision_log = "logs/decisions.jsonl"
[[principals]]
name = "p"
access_keys = ["AKAAAAAAAAAA"]
secret_key_env = { AKAAAAAAAAAA = "SK_P" }
policies = ["../pol"]
[[principals.attachments]]
policy = "extra/dev.json"
scope = "project"
projects = ["ae-ad-1_dev"]
`)
	write("pol/a.json", readOnlyPolicy)
	write("pol/sub/b.json", `{"roles":[{"policy":`+readOnlyPolicy+`},{"policy":`+denyAllPolicy+`}]}`)
	write("conf/extra/dev.json", adminPolicy)
	env := map[string]string{"SK_P": "secret"}
	l := &Loader{ConfigPath: filepath.Join(dir, "conf/imsguard.toml"), Catalog: testCatalog(t),
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}

	s, err := l.Load(context.Background())
	require.NoError(t, err)
	p, _ := s.Principal("p")
	var names []string
	for _, a := range p.Attachments {
		names = append(names, a.Name+" "+string(a.Scope.Kind))
	}
	pol := filepath.Join(dir, "pol")
	assert.Equal(t, []string{
		pol + "/a.json all_projects", pol + "/sub/b.json[0] all_projects", pol + "/sub/b.json[1] all_projects",
		"extra/dev.json project",
	}, names)
	assert.Equal(t, []string{"ae-ad-1_dev"}, p.Attachments[3].Scope.Projects)
	assert.Equal(t, filepath.Join(dir, "conf/logs/decisions.jsonl"), s.decisionLog)
	assert.Equal(t, "secret", s.secrets["AKAAAAAAAAAA"])
	assert.Contains(t, s.watch, pol+"/sub")

	// Same files, same digest; a change changes it.
	s2, err := l.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, s.Digest, s2.Digest)
	// The same files in another checkout: the digest names files relative to the
	// configuration's folder, so it is the same.
	other := t.TempDir()
	require.NoError(t, os.CopyFS(other, os.DirFS(dir)))
	l2 := *l
	l2.ConfigPath = filepath.Join(other, "conf/imsguard.toml")
	s3, err := l2.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, s.Digest, s3.Digest)

	t.Run("missing secret", func(t *testing.T) {
		delete(env, "SK_P")
		defer func() { env["SK_P"] = "secret" }()
		_, err := l.Load(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "SK_P")
		assert.NotContains(t, err.Error(), "AKAAAAAAAAAA")
	})
	t.Run("lint error blocks", func(t *testing.T) {
		write("pol/sub/b.json", `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"],}]}`)
		_, err := l.Load(context.Background())
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrPolicyLint)
		assert.Contains(t, err.Error(), pol+"/sub/b.json:1:")
	})
	t.Run("missing policy file", func(t *testing.T) {
		write("pol/sub/b.json", readOnlyPolicy)
		require.NoError(t, os.Remove(filepath.Join(dir, "conf/extra/dev.json")))
		_, err := l.Load(context.Background())
		require.Error(t, err)
		assert.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("engine refuses", func(t *testing.T) {
		write("conf/extra/dev.json", adminPolicy)
		l2 := *l
		l2.NewDecider = func(context.Context, *actions.Catalog, []authz.Attachment, authz.Options) (Decider, error) {
			return nil, errors.New("nope")
		}
		_, err := l2.Load(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), `principal "p": nope`)
	})
	t.Run("custom linter", func(t *testing.T) {
		l2 := *l
		var seen []string
		l2.Linter = func(files []*policy.File) error {
			for _, f := range files {
				seen = append(seen, filepath.Base(f.Name))
			}
			return errors.New("E-TEST: rejected")
		}
		_, err := l2.Load(context.Background())
		require.ErrorContains(t, err, "E-TEST")
		assert.ElementsMatch(t, []string{"a.json", "b.json", "dev.json"}, seen, "each file linted once")
	})
}

func TestSyntaxLinter(t *testing.T) {
	ok := policy.Parse("ok.json", []byte(readOnlyPolicy))
	assert.NoError(t, SyntaxLinter([]*policy.File{ok}))
	dup := policy.Parse("dup.json", []byte(`{"Version":"1.1","Version":"1.0","Statement":[]}`))
	err := SyntaxLinter([]*policy.File{ok, dup})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrPolicyLint)
	assert.Contains(t, err.Error(), "dup.json:1:")
	empty := policy.Parse("empty.json", []byte(`{"roles":[]}`))
	assert.ErrorContains(t, SyntaxLinter([]*policy.File{empty}), "no policy document")
}

// TestPreflightLeavesNothing: validate's host checks create no decision log file and hold
// no port afterwards.
func TestPreflightLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.json"), []byte(readOnlyPolicy), 0o600))
	cfg := filepath.Join(dir, "imsguard.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(`listen = "127.0.0.1:0"
upstream = "http://127.0.0.1:1"
decision_log = "logs/decisions.jsonl"
[metrics]
listen = "127.0.0.1:0"
[[principals]]
name = "p"
policies = ["p.json"]
`), 0o600))
	s, err := (&Loader{ConfigPath: cfg, Catalog: testCatalog(t)}).Load(context.Background())
	require.NoError(t, err)
	require.NoError(t, Preflight(s, PreflightOptions{}))
	entries, err := os.ReadDir(filepath.Join(dir, "logs"))
	require.NoError(t, err)
	assert.Empty(t, entries, "no decision log file created, no probe file left")

	require.NoError(t, os.Chmod(filepath.Join(dir, "logs"), 0o500))
	defer os.Chmod(filepath.Join(dir, "logs"), 0o755)
	if os.Geteuid() != 0 { // root writes anywhere
		err = Preflight(s, PreflightOptions{})
		require.ErrorContains(t, err, "decision_log")
		assert.NotContains(t, err.Error(), ".imsguard-validate-", "the probe file is not named")
	}
	assert.NoError(t, Preflight(s, PreflightOptions{SkipHost: true}))
}
