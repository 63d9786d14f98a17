package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/fleet"
	"github.com/imsguard/imsguard/rego/fleet/fleettest"
)

// writeKeyPair writes an RSA private key and its public key (PEM) into dir.
func writeKeyPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	priv = filepath.Join(dir, name+".pem")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600))
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	pub = filepath.Join(dir, name+".pub.pem")
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))
	return priv, pub
}

const bundleSourceConfig = `upstream = "https://ims.example.com"
[[principals]]
name = "reader"
access_keys = ["AKREADER00000001"]
secret_key_env = { AKREADER00000001 = "READER_SK" }
users = ["alice"]
policies = ["policies/readonly.json"]
  [[principals.attachments]]
  policy = "policies/extra"
  scope = "project"
  projects = ["ae-ad-1_dev"]
`

func TestBundleCLI(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"imsguard.toml":            bundleSourceConfig,
		"policies/readonly.json":   "{\n  \"Version\": \"1.1\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"ims:images:list\", \"ims:images:get\"]}]\n}\n",
		"policies/extra/case.json": `{"Version":"1.1","Statement":[{"Effect":"allow","Action":["ims:images:list"]}]}`,
		"strict.toml":              "upstream = \"https://x.example\"\nopa_config = \"opa.yaml\"\n[lint.severity]\nW-EFFECT-CASE = \"error\"\n",
		"dup/imsguard.toml":        "upstream = \"https://ims.example.com\"\n[[principals]]\nname = \"d\"\npolicies = [\"dup.json\"]\n",
		"dup/dup.json":             "{\"Version\":\"1.1\",\n\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"ims:*:*\"]}],\n\"Statement\":[]}\n",
		"fleet/imsguard.toml":      "upstream = \"https://ims.example.com\"\nopa_config = \"opa.yaml\"\n",
	})
	priv, pub := writeKeyPair(t, dir, "fleet")
	_, otherPub := writeKeyPair(t, dir, "other")
	cfg := filepath.Join(dir, "imsguard.toml")
	out := filepath.Join(dir, "bundle.tar.gz")

	stdout, stderr, code := runCLI(t, "", "bundle", "build", "--config", cfg, "-o", out, "--revision", "r1", "--signing-key", priv, "--signing-key-id", "fleet")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "wrote "+out+": revision r1, 1 principal(s), 2 policies, signed with RS256 (key id fleet)\n", stdout)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	b, err := fleet.Read(bytes.NewReader(data), nil)
	require.NoError(t, err)
	assert.Contains(t, string(b.Data), `"policies/readonly.json":"{\n  \"Version\": \"1.1\",`, "the policy's raw text")
	assert.NotContains(t, string(b.Data), "READER_SK\":\"", "secret_key_env names travel, as names")

	t.Run("inspect", func(t *testing.T) {
		for _, c := range []struct {
			name string
			args []string
			code int
			want []string
		}{
			{"unverified", nil, 0, []string{"revision   r1", "signature  present, not verified", "principal  reader: policies/readonly.json (all_projects), policies/extra (project ae-ad-1_dev); 1 access key(s), 1 verified; users alice",
				"policy     policies/extra/case.json (", "W-EFFECT-CASE", "a proxy would activate this bundle"}},
			{"verified", []string{"--verification-key", pub, "--verification-key-id", "fleet"}, 0, []string{"signature  verified"}},
			{"wrong key", []string{"--verification-key", otherPub, "--verification-key-id", "fleet"}, 1, []string{"signature  INVALID", "would REFUSE"}},
			{"stricter proxy lint", []string{"--config", filepath.Join(dir, "strict.toml")}, 1, []string{"error W-EFFECT-CASE", `would REFUSE this bundle: bundle revision "r1": policy lint failed: policies/extra/case.json:1:41: W-EFFECT-CASE`}},
		} {
			t.Run(c.name, func(t *testing.T) {
				stdout, stderr, code := runCLI(t, "", append([]string{"bundle", "inspect", out}, c.args...)...)
				assert.Equal(t, c.code, code, stdout+stderr)
				for _, w := range c.want {
					assert.Contains(t, stdout, w)
				}
			})
		}
		stdout, _, code := runCLI(t, "", "bundle", "inspect", out, "--format", "json")
		require.Equal(t, 0, code)
		var rep map[string]any
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
		assert.Equal(t, "r1", rep["revision"])
		assert.Equal(t, "unverified", rep["signature"])
		assert.Equal(t, true, rep["activatable"])
	})

	t.Run("tampered", func(t *testing.T) {
		tampered := filepath.Join(dir, "tampered.tar.gz")
		require.NoError(t, os.WriteFile(tampered, tamperBundle(t, data, "ims:images:get", "ims:images:del"), 0o644))
		stdout, _, code := runCLI(t, "", "bundle", "inspect", tampered, "--verification-key", pub, "--verification-key-id", "fleet")
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout, "signature  INVALID: data.json: digest mismatch")
	})

	t.Run("refused", func(t *testing.T) {
		for _, c := range []struct {
			name string
			args []string
			code int
			want string
		}{
			{"duplicate key", []string{"--config", filepath.Join(dir, "dup/imsguard.toml")}, 1, "dup.json:3:1: E-JSON-DUPKEY"},
			{"opa_config", []string{"--config", filepath.Join(dir, "fleet/imsguard.toml")}, 1, "opa_config is set, so this file has no principals to bundle"},
			{"no key file", []string{"--config", cfg, "--signing-key", filepath.Join(dir, "missing.pem")}, 2, "read --signing-key"},
			{"bad algorithm", []string{"--config", cfg, "--signing-key", priv, "--signing-alg", "XS1"}, 2, "not one OPA verifies"},
			{"no config", nil, 2, "give --config"},
			{"alg without key", []string{"--config", cfg, "--signing-alg", "ES256"}, 2, "need --signing-key"},
		} {
			t.Run(c.name, func(t *testing.T) {
				target := filepath.Join(dir, "refused-"+strings.ReplaceAll(c.name, " ", "-")+".tar.gz")
				_, stderr, code := runCLI(t, "", append([]string{"bundle", "build", "-o", target}, c.args...)...)
				assert.Equal(t, c.code, code, stderr)
				assert.Contains(t, stderr, c.want)
				assert.NoFileExists(t, target, "nothing is written")
			})
		}
	})

	t.Run("stdout and default revision", func(t *testing.T) {
		stdout, stderr, code := runCLI(t, "", "bundle", "build", "--config", cfg, "-o", "-")
		require.Equal(t, 0, code, stderr)
		b, err := fleet.Read(strings.NewReader(stdout), nil)
		require.NoError(t, err)
		assert.Regexp(t, `^sha256:[0-9a-f]{16}$`, b.Revision)
		assert.Contains(t, stderr, "wrote -: revision "+b.Revision)
		stdout2, _, _ := runCLI(t, "", "bundle", "build", "--config", cfg, "-o", "-")
		b2, err := fleet.Read(strings.NewReader(stdout2), nil)
		require.NoError(t, err)
		assert.Equal(t, b.Revision, b2.Revision, "the same content, the same revision")
	})
}

// tamperBundle replaces old with new in the bundle's data.json, keeping its signature.
func tamperBundle(t *testing.T, bundle []byte, old, new string) []byte {
	t.Helper()
	out, err := fleettest.Tamper(bundle, func(name string, data []byte) []byte {
		if strings.HasSuffix(name, "data.json") {
			require.Contains(t, string(data), old)
			return bytes.ReplaceAll(data, []byte(old), []byte(new))
		}
		return data
	})
	require.NoError(t, err)
	return out
}
