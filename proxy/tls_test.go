package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeCert writes a self-signed certificate for 127.0.0.1 and its key as name.crt and
// name.key under dir and returns the certificate.
func writeCert(t *testing.T, dir, name string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "imsguard-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

func TestServerTLSAndRotation(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, "first", 1)
	second := writeCert(t, dir, "second", 2)
	files := map[string]string{}
	for _, n := range []string{"first.crt", "first.key"} {
		data, _ := os.ReadFile(filepath.Join(dir, n))
		files["tls/"+strings.Replace(n, "first", "server", 1)] = string(data)
	}
	cfg := "[server_tls]\ncert_file = \"tls/server.crt\"\nkey_file = \"tls/server.key\"\n"
	e := newEnv(t, strings.Replace(baseConfig, "[metrics]", cfg+"\n[metrics]", 1), files)
	pool := x509.NewCertPool()
	pool.AddCert(first)
	pool.AddCert(second)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}}
	serial := func() int64 {
		resp, err := client.Get(strings.Replace(e.url, "http://", "https://", 1) + "/v2/images")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	assert.EqualValues(t, 1, serial())

	// A renewed certificate (as cert-manager writes it) is served after a reload.
	for _, n := range []string{"crt", "key"} {
		data, _ := os.ReadFile(filepath.Join(dir, "second."+n))
		e.writeFiles(t, map[string]string{"tls/server." + n: string(data)})
	}
	require.NoError(t, e.srv.Reload(context.Background()))
	assert.EqualValues(t, 2, serial())

	// A broken key pair is refused; the running certificate stays.
	e.writeFiles(t, map[string]string{"tls/server.key": "not a key"})
	err := e.srv.Reload(context.Background())
	require.ErrorContains(t, err, "server_tls")
	assert.EqualValues(t, 2, serial())
}
