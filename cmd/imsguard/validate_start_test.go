package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startBase is a configuration that starts: loopback, any free port, no metrics listener,
// decisions to standard output.
const startBase = `listen = "127.0.0.1:0"
upstream = "http://127.0.0.1:1"
default_principal = "w"
{{TOP}}
[metrics]
listen = "{{METRICS}}"
{{TABLES}}
[[principals]]
name = "w"
policies = ["{{POLICY}}"]
{{PRINCIPAL}}`

const startPolicy = `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list","ims:images:get"]}]}`

// TestValidateCatchesStartFailures walks the start path of `imsguard proxy` — decode and
// validate the file, the [lint] table and its rule folders, read, lint and compile the
// policies, secrets from the environment, TLS files (server pair, CA bundles), the decision
// log, the IAM and lookup clients, the listeners — with one broken configuration per way it
// can fail, and checks that `imsguard validate` refuses each with the same exit code and the
// same cause that `imsguard proxy` stops on, so a configuration validate accepts starts.
func TestValidateCatchesStartFailures(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	crt, err := os.ReadFile("../../testdata/proxy/tls/tls.crt")
	require.NoError(t, err)
	key, err := os.ReadFile("../../testdata/proxy/tls/tls.key")
	require.NoError(t, err)

	cases := []struct {
		name      string
		top       string // top-level keys
		metrics   string // [metrics] listen
		tables    string // tables after [metrics]
		principal string // keys of the [[principals]] entry
		policy    string // the policy file's content ("" startPolicy)
		files     map[string]string
		code      int
		want      []string // in the message of both commands
	}{
		{name: "TOML syntax error", top: `mode = "enforce`, code: 1, want: []string{"TOML syntax error", "imsguard.toml:4:"}},
		{name: "unknown key", tables: "[timeout]\ndecision = \"5s\"", code: 1, want: []string{"timeout", `did you mean "timeouts"?`}},
		{name: "bare integer duration", tables: "[timeouts]\ndecision = 5", code: 1, want: []string{"imsguard.toml:8: timeouts.decision", `write decision = "5s"`}},
		{name: "duration out of range", tables: "[signature]\nmax_skew = \"2h\"", code: 1, want: []string{"signature.max_skew", "between 1s and 1h"}},
		{name: "metrics on the proxy's address", top: `listen = "127.0.0.1:1"`, metrics: "127.0.0.1:1", code: 1, want: []string{"metrics.listen", "also the address of listen"}},
		{name: "no upstream", top: `upstream = ""`, code: 1, want: []string{"upstream"}},
		{name: "iam endpoint not a URL", tables: "[iam]\nendpoint = \"iam.example\"", code: 1, want: []string{"iam.endpoint", "https://"}},
		{name: "invalid [lint] table", tables: "[lint]\nfial_on = \"error\"", code: 1, want: []string{"lint.fial_on", `did you mean "fail_on"?`}},
		{name: "[lint] rule folder missing", tables: "[lint]\nrules = [\"no-such-rules\"]", code: 2, want: []string{"no-such-rules"}},
		{name: "policy file missing", principal: `attachments = [{ policy = "missing.json", scope = "global" }]`, code: 2, want: []string{"missing.json"}},
		{name: "policy lint error", policy: `{"Version":"1.1","Statement":[{"Effect":"Allow","Action":["ims:images:list"],}]}`, code: 1, want: []string{"policy lint failed", "p.json:1:"}},
		{name: "secret not in the environment", principal: `sign_upstream = { access_key = "SIGNINGAKEY00001", secret_key_env = "IMSGUARD_TEST_UNSET_SECRET" }`, code: 2, want: []string{"IMSGUARD_TEST_UNSET_SECRET", "not set"}},
		{name: "lookup secret not in the environment", tables: "[enterprise_project_lookup]\naccess_key = \"LOOKUPAKEY000001\"\nsecret_key_env = \"IMSGUARD_TEST_UNSET_LOOKUP\"", code: 2, want: []string{"IMSGUARD_TEST_UNSET_LOOKUP"}},
		{name: "server certificate missing", tables: "[server_tls]\ncert_file = \"missing.crt\"\nkey_file = \"tls.key\"", files: map[string]string{"tls.key": string(key)}, code: 2, want: []string{"missing.crt"}},
		{name: "server key not PEM", tables: "[server_tls]\ncert_file = \"tls.crt\"\nkey_file = \"bad.key\"", files: map[string]string{"tls.crt": string(crt), "bad.key": "not a key"}, code: 2, want: []string{"server_tls"}},
		{name: "CA bundle not PEM", tables: "[upstream_tls]\nca_file = \"ca.pem\"", files: map[string]string{"ca.pem": "not a certificate"}, code: 2, want: []string{"upstream_tls", "ca.pem"}},
		{name: "decision log folder missing", top: `decision_log = "no-such-dir/decisions.jsonl"`, code: 2, want: []string{"decision_log", "no-such-dir"}},
		{name: "decision log is a folder", top: `decision_log = "logs"`, files: map[string]string{"logs/keep": ""}, code: 2, want: []string{"decision_log", "logs"}},
		{name: "listen port taken", top: `listen = "` + taken.Addr().String() + `"`, code: 2, want: []string{"listen " + taken.Addr().String(), "address already in use", "another process holds the port", "set listen in"}},
		{name: "metrics port taken", metrics: taken.Addr().String(), code: 2, want: []string{"[metrics] listen " + taken.Addr().String(), "address already in use", `or to "" to turn the metrics listener off`}},
		{name: "listen address not on this host", top: `listen = "192.0.2.1:0"`, code: 2, want: []string{"listen 192.0.2.1:0", "set listen in"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pol := tc.policy
			if pol == "" {
				pol = startPolicy
			}
			text := strings.NewReplacer("{{TOP}}", tc.top, "{{METRICS}}", tc.metrics, "{{TABLES}}", tc.tables,
				"{{POLICY}}", "p.json", "{{PRINCIPAL}}", tc.principal).Replace(startBase)
			for _, k := range []string{"upstream", "listen"} {
				if strings.HasPrefix(tc.top, k+" =") { // the case's own value replaces the base's
					text = strings.Replace(text, strings.SplitN(startBase, "\n", 3)[map[string]int{"listen": 0, "upstream": 1}[k]]+"\n", "", 1)
				}
			}
			files := map[string]string{"imsguard.toml": text, "p.json": pol}
			for k, v := range tc.files {
				files[k] = v
			}
			for name, content := range files {
				writeFile(t, dir, name, content, 0o600)
			}
			cfg := filepath.Join(dir, "imsguard.toml")

			_, verr, vcode := runCLI(t, "", "validate", "--config", cfg)
			perr, pcode := runProxyBriefly(t, cfg)
			assert.Equal(t, tc.code, pcode, "proxy fails to start: %s", perr)
			assert.Equal(t, tc.code, vcode, "validate refuses what proxy cannot start: %s", verr)
			for _, w := range tc.want {
				assert.Contains(t, perr, w, "proxy says")
				assert.Contains(t, verr, w, "validate says")
			}
			assert.Equal(t, 1, strings.Count(verr, "\n"), "one line: %q", verr)

			if tc.code == 2 && !strings.Contains(tc.name, "secret") {
				// What the host decides (files, ports, folders) is all --skip-host-checks
				// leaves out; nothing else.
				_, serr, scode := runCLI(t, "", "validate", "--skip-host-checks", "--config", cfg)
				hostOnly := strings.Contains(tc.name, "decision log") || strings.Contains(tc.name, "listen") || strings.Contains(tc.name, "port taken")
				if hostOnly {
					assert.Equal(t, 0, scode, serr)
				} else {
					assert.Equal(t, tc.code, scode, serr)
				}
			}
		})
	}
}

// runProxyBriefly runs `imsguard proxy` in-process; a configuration that starts is served
// until a short deadline, which the caller sees as exit 0.
func runProxyBriefly(t *testing.T, cfg string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"proxy", "--no-watch", "--log-level", "error", "--config", cfg}, strings.NewReader(""), &out, &errb)
	return errb.String(), code
}

// TestValidateOPAConfigEnv: a ${NAME} of the opa_config file that cannot be expanded stops
// `imsguard validate` (the real binary) and `imsguard proxy` alike, at the opa_config key,
// naming the variable: exit 2 when the environment is at fault (as a secret_key_env not
// set), 1 when the file is. Set, the configuration validates and the value is not printed.
func TestValidateOPAConfigEnv(t *testing.T) {
	const token = "QZXVALIDATETOKENQZX"
	cases := []struct {
		name, ref string
		code      int
		want      string
	}{
		{name: "not set", ref: "${IMSGUARD_TEST_UNSET_BUNDLE_TOKEN}", code: 2,
			want: "opa.yaml:4: ${IMSGUARD_TEST_UNSET_BUNDLE_TOKEN} is not set in the environment; set it, or write the value in the file"},
		{name: "not a name", ref: "${BUNDLE TOKEN}", code: 1, want: "opa.yaml:4: ${BUNDLE TOKEN} is not a variable name"},
		{name: "set", ref: "${IMSGUARD_TEST_BUNDLE_TOKEN}"},
	}
	t.Setenv("IMSGUARD_TEST_BUNDLE_TOKEN", token)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "imsguard.toml", "listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:1\"\nopa_config = \"opa.yaml\"\n\n[metrics]\nlisten = \"\"\n", 0o600)
			writeFile(t, dir, "opa.yaml", "services:\n  cp:\n    url: http://127.0.0.1:1\n    credentials: {bearer: {token: \""+tc.ref+"\"}}\n"+
				"bundles:\n  imsguard: {service: cp, resource: b.tar.gz}\n", 0o600)
			out, verr, vcode := runBinary(t, "", "validate", "--skip-host-checks", "--config", cfg)
			assert.Equal(t, tc.code, vcode, "validate: %s", verr)
			assert.NotContains(t, out+verr, token)
			if tc.code == 0 {
				assert.Contains(t, out, "valid")
				return
			}
			perr, pcode := runProxyBriefly(t, cfg)
			assert.Equal(t, tc.code, pcode, "proxy: %s", perr)
			for _, msg := range []string{verr, perr} {
				assert.Contains(t, msg, "imsguard.toml:3: opa_config: ")
				assert.Contains(t, msg, tc.want)
			}
			assert.Equal(t, 1, strings.Count(verr, "\n"), "one line: %q", verr)
		})
	}
}
