package proxy

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
)

// clientTLS builds a verifying TLS client configuration; caFile (already read into in)
// replaces the system roots. key identifies the settings, CA content included, so equal
// settings reuse connections across reloads.
func clientTLS(in *inputs, src source, caFile, serverName string, insecure bool) (c *tls.Config, key string, err error) {
	c = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName, InsecureSkipVerify: insecure} //nolint:gosec // explicit opt-in
	key = fmt.Sprintf("%q|%t", serverName, insecure)
	if caFile == "" {
		return c, key, nil
	}
	path := src.resolve(caFile)
	pem := in.extra[path]
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, "", fmt.Errorf("ca_file %s: no PEM certificate found", path)
	}
	c.RootCAs = pool
	sum := sha256.Sum256(pem)
	return c, key + "|" + hex.EncodeToString(sum[:]), nil
}

// serverCertificate parses the [server_tls] key pair; nil without one. It is part of the
// snapshot, so a renewed certificate is served after a reload, without a restart.
func serverCertificate(in *inputs, src source, c ServerTLSConfig) (*tls.Certificate, error) {
	if c.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.X509KeyPair(in.extra[src.resolve(c.CertFile)], in.extra[src.resolve(c.KeyFile)])
	if err != nil {
		return nil, fmt.Errorf("cert_file/key_file: %w", errors.Unwrap(err))
	}
	return &cert, nil
}
