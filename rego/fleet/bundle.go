package fleet

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"
	"github.com/open-policy-agent/opa/v1/util"
)

// Name is the bundle imsguard activates: `bundles: {imsguard: ...}` in the OPA
// configuration. Root is the one root its manifest claims; the data is data.imsguard.
const (
	Name = "imsguard"
	Root = "imsguard"
)

// MaxBundleBytes bounds what Read and the bundle plugin's reads take from a bundle
// (uncompressed): a gzip bomb is an error, not an out-of-memory kill.
const MaxBundleBytes = 256 << 20

// ErrBundle is wrapped by errors reading or writing a bundle.
var ErrBundle = errors.New("imsguard bundle")

// Bundle is an imsguard bundle as read.
type Bundle struct {
	// Revision is the manifest's revision.
	Revision string
	// Data is the JSON of data.imsguard (what the proxy decodes); nil when the bundle
	// carries none.
	Data []byte
	// Digest is a SHA-256 (hex) over the revision and Data: equal digests, equal bundles.
	Digest string
	// Signed says the bundle has a .signatures.json; Verified that its signature was
	// checked against a key (Read with a Verification).
	Signed, Verified bool
}

// Signing is how Write signs a bundle: OPA's signature, a JWT over the hashes of the
// bundle's files in .signatures.json, verified by OPA's bundle plugin against the keys
// of its configuration.
type Signing struct {
	// Key is the private key (PEM: RSA or EC, PKCS#1, PKCS#8 or SEC 1) for RS*, PS* and
	// ES* algorithms, or the HMAC secret for HS*: the content, not a path.
	Key []byte
	// Algorithm is a JWS algorithm OPA verifies: RS256 (default), RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384, ES512, HS256, HS384, HS512.
	Algorithm string
	// KeyID is put in the token's kid header: the name of the verification key in the
	// OPA configuration's `keys` (default "default").
	KeyID string
}

// Verification is the key Read checks a signature with, as an OPA configuration names
// it under `keys`.
type Verification struct {
	// Key is the public key (PEM) or the HMAC secret: the content, not a path.
	Key []byte
	// Algorithm defaults to RS256; KeyID to "default".
	Algorithm, KeyID string
	// Scope, when set, must equal the token's scope claim.
	Scope string
}

// algorithm returns alg or OPA's default, checked against the algorithms OPA verifies.
func algorithm(alg string) (string, error) {
	if alg == "" {
		alg = "RS256"
	}
	if !keys.IsSupportedAlgorithm(alg) {
		return "", fmt.Errorf("%w: signing algorithm %q is not one OPA verifies (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, HS256, HS384, HS512)", ErrBundle, alg)
	}
	return alg, nil
}

func keyID(id string) string {
	if id == "" {
		return "default"
	}
	return id
}

// Write writes an OPA bundle (a gzipped tar) whose .manifest names revision and the one
// root "imsguard" and whose data.json holds data (a JSON object) as data.imsguard. With
// sign, the bundle carries OPA's .signatures.json. The data is written as OPA's writer
// writes it; nothing is validated beyond being a JSON object: the caller checks what it
// means.
func Write(w io.Writer, data []byte, revision string, sign *Signing) error {
	var value any
	if err := util.UnmarshalJSON(data, &value); err != nil {
		return fmt.Errorf("%w: data: %v", ErrBundle, err)
	}
	if _, ok := value.(map[string]any); !ok {
		return fmt.Errorf("%w: data must be a JSON object", ErrBundle)
	}
	roots := []string{Root}
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: revision, Roots: &roots},
		Data:     map[string]any{Root: value},
	}
	if sign != nil {
		alg, err := algorithm(sign.Algorithm)
		if err != nil {
			return err
		}
		if len(sign.Key) == 0 {
			return fmt.Errorf("%w: the signing key is empty", ErrBundle)
		}
		sc := bundle.NewSigningConfig(string(sign.Key), alg, "")
		if err := b.GenerateSignature(sc, keyID(sign.KeyID), false); err != nil {
			return fmt.Errorf("%w: sign with %s: %v (is the key a %s private key?)", ErrBundle, alg, err, alg)
		}
	}
	if err := bundle.NewWriter(w).Write(b); err != nil {
		return fmt.Errorf("%w: write: %v", ErrBundle, err)
	}
	return nil
}

// Read reads a bundle Write wrote (or any bundle whose only root is "imsguard"). With v,
// the bundle must be signed and its signature must verify with v's key; without, a
// signature is reported (Signed) but not checked. Modules, Wasm and plans are refused:
// an imsguard bundle is data only.
func Read(r io.Reader, v *Verification) (*Bundle, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	if len(raw) > MaxBundleBytes {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrBundle, MaxBundleBytes>>20)
	}
	rd := bundle.NewReader(bytes.NewReader(raw)).WithSizeLimitBytes(MaxBundleBytes)
	if v != nil {
		alg, err := algorithm(v.Algorithm)
		if err != nil {
			return nil, err
		}
		kc := &keys.Config{Key: string(v.Key), Algorithm: alg}
		id := keyID(v.KeyID)
		rd = rd.WithBundleVerificationConfig(bundle.NewVerificationConfig(map[string]*keys.Config{id: kc}, id, v.Scope, nil))
	} else {
		rd = rd.WithSkipBundleVerification(true)
	}
	b, err := rd.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	out, err := fromBundle(&b)
	if err != nil {
		return nil, err
	}
	out.Verified = v != nil
	out.Signed = out.Signed || signed(raw)
	return out, nil
}

// signed reports whether a gzipped tar holds a .signatures.json (OPA's reader does not
// read it when it does not verify).
func signed(raw []byte) bool {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return false
	}
	tr := tar.NewReader(io.LimitReader(zr, MaxBundleBytes))
	for {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if bundle.IsSignaturesFile(h.Name) {
			return true
		}
	}
}

// fromBundle checks an OPA bundle is an imsguard bundle and takes its data.
func fromBundle(b *bundle.Bundle) (*Bundle, error) {
	if b.Manifest.Roots == nil || !slices.Equal(*b.Manifest.Roots, []string{Root}) {
		var roots any = "none"
		if b.Manifest.Roots != nil {
			roots = *b.Manifest.Roots
		}
		return nil, fmt.Errorf("%w: the manifest's roots are %v; an imsguard bundle has exactly [%q] (build it with imsguard bundle build)", ErrBundle, roots, Root)
	}
	if len(b.Modules) > 0 || len(b.WasmModules) > 0 || len(b.Wasm) > 0 || len(b.PlanModules) > 0 {
		return nil, fmt.Errorf("%w: the bundle carries Rego, Wasm or plan files; an imsguard bundle is data only", ErrBundle)
	}
	out := &Bundle{Revision: b.Manifest.Revision, Signed: len(b.Signatures.Signatures) > 0}
	if v, ok := b.Data[Root]; ok {
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: data: %v", ErrBundle, err)
		}
		out.Data = data
	}
	out.Digest = digest(out.Revision, out.Data)
	return out, nil
}

// digest hashes a revision and data.
func digest(revision string, data []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s\x00", len(revision), revision)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// DataDigest is a short content digest of data ("sha256:" and 16 hex digits), the
// revision `imsguard bundle build` writes when none is given.
func DataDigest(data []byte) string {
	var v any
	if err := json.Unmarshal(data, &v); err == nil {
		if canon, err := json.Marshal(v); err == nil { // map keys sorted
			data = canon
		}
	}
	sum := sha256.Sum256(bytes.TrimSpace(data))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
