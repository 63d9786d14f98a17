package fleet

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/fleet/fleettest"
)

// testKeys returns an RSA and an EC key pair as PEM (private, public).
func testKeys(t *testing.T) (rsaPriv, rsaPub, ecPriv, ecPub []byte) {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaPriv = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
	pub, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	require.NoError(t, err)
	rsaPub = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(ek)
	require.NoError(t, err)
	ecPriv = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	pub, err = x509.MarshalPKIXPublicKey(&ek.PublicKey)
	require.NoError(t, err)
	ecPub = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	return
}

const testData = `{"format":1,"principals":[{"name":"reader","policies":["p.json"]}],"policies":{"p.json":"{\n  \"Version\": \"1.1\",\n  \"Version\": \"1.1\"\n}"}}`

func TestWriteRead(t *testing.T) {
	rsaPriv, rsaPub, ecPriv, ecPub := testKeys(t)
	cases := []struct {
		name   string
		sign   *Signing
		verify *Verification
		err    string
	}{
		{name: "unsigned"},
		{name: "unsigned, key required", verify: &Verification{Key: rsaPub}, err: "bundle missing .signatures.json"},
		{name: "RS256", sign: &Signing{Key: rsaPriv}, verify: &Verification{Key: rsaPub}},
		{name: "RS256 key id", sign: &Signing{Key: rsaPriv, KeyID: "fleet"}, verify: &Verification{Key: rsaPub, KeyID: "fleet"}},
		{name: "ES256", sign: &Signing{Key: ecPriv, Algorithm: "ES256"}, verify: &Verification{Key: ecPub, Algorithm: "ES256"}},
		{name: "HS256", sign: &Signing{Key: []byte("s3cret"), Algorithm: "HS256"}, verify: &Verification{Key: []byte("s3cret"), Algorithm: "HS256"}},
		{name: "HS256 wrong secret", sign: &Signing{Key: []byte("s3cret"), Algorithm: "HS256"}, verify: &Verification{Key: []byte("other"), Algorithm: "HS256"}, err: "verif"},
		{name: "wrong public key", sign: &Signing{Key: rsaPriv}, verify: &Verification{Key: ecPub, Algorithm: "ES256"}, err: "verif"},
		{name: "signed, not verified", sign: &Signing{Key: rsaPriv}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, []byte(testData), "r1", c.sign))
			b, err := Read(bytes.NewReader(buf.Bytes()), c.verify)
			if c.err != "" {
				require.ErrorIs(t, err, ErrBundle)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "r1", b.Revision)
			assert.JSONEq(t, testData, string(b.Data))
			assert.Contains(t, string(b.Data), `\"Version\": \"1.1\",\n  \"Version\"`, "the raw policy text survives, duplicate key and all")
			assert.Equal(t, c.sign != nil, b.Signed)
			assert.Equal(t, c.verify != nil, b.Verified)
			assert.Len(t, b.Digest, 64)
		})
	}
}

func TestWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	assert.ErrorContains(t, Write(&buf, []byte(`[1]`), "r", nil), "JSON object")
	assert.ErrorContains(t, Write(&buf, []byte(`{`), "r", nil), "data")
	assert.ErrorContains(t, Write(&buf, []byte(`{}`), "r", &Signing{Key: []byte("k"), Algorithm: "XS1"}), "not one OPA verifies")
	assert.ErrorContains(t, Write(&buf, []byte(`{}`), "r", &Signing{}), "empty")
	assert.ErrorContains(t, Write(&buf, []byte(`{}`), "r", &Signing{Key: []byte("not a pem")}), "RS256 private key")
}

// TestReadTampered: a signed bundle whose data.json was changed after signing fails
// verification.
func TestReadTampered(t *testing.T) {
	rsaPriv, rsaPub, _, _ := testKeys(t)
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, []byte(testData), "r1", &Signing{Key: rsaPriv}))
	tampered := Tamper(t, buf.Bytes(), func(name string, data []byte) []byte {
		if name == "/data.json" || name == "data.json" {
			return bytes.Replace(data, []byte(`reader`), []byte(`admin!`), 1)
		}
		return data
	})
	_, err := Read(bytes.NewReader(tampered), &Verification{Key: rsaPub})
	require.ErrorIs(t, err, ErrBundle)
	assert.Contains(t, err.Error(), "data.json")
	b, err := Read(bytes.NewReader(tampered), nil)
	require.NoError(t, err, "without a key the change goes unnoticed: that is what signing is for")
	assert.Contains(t, string(b.Data), "admin!")
}

func TestReadRefusesOtherBundles(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, []byte(`{}`), "r1", nil))
	other := Tamper(t, buf.Bytes(), func(name string, data []byte) []byte {
		if name == "/.manifest" || name == ".manifest" {
			return []byte(`{"revision":"x","roots":["imsguard","other"]}`)
		}
		return data
	})
	_, err := Read(bytes.NewReader(other), nil)
	assert.ErrorContains(t, err, `exactly ["imsguard"]`)
}

func TestDataDigest(t *testing.T) {
	a := DataDigest([]byte(`{"b":1,"a":2}`))
	assert.Equal(t, a, DataDigest([]byte(`{"a":2, "b":1}`)), "key order and spacing do not change the digest")
	assert.NotEqual(t, a, DataDigest([]byte(`{"a":3,"b":1}`)))
	assert.Regexp(t, `^sha256:[0-9a-f]{16}$`, a)
}

// Tamper is fleettest.Tamper for tests.
func Tamper(t *testing.T, bundle []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	out, err := fleettest.Tamper(bundle, edit)
	require.NoError(t, err)
	return out
}
