package proxy

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imsguard/imsguard/policy"
)

// defaults holds the built-in configuration (defaults/imsguard.toml) and the policies it
// references, used when no configuration file is given.
//
//go:embed defaults
var defaults embed.FS

// EmbeddedConfigName is how the built-in configuration is named in messages and logs.
const EmbeddedConfigName = "imsguard.toml (embedded)"

// EmbeddedConfig returns the text of the built-in configuration.
func EmbeddedConfig() []byte {
	data, err := defaults.ReadFile("defaults/imsguard.toml")
	if err != nil {
		panic("embedded default configuration missing: " + err.Error()) // build error, not a runtime condition
	}
	return data
}

// source reads a configuration and the policy files it names.
type source interface {
	// name is the configuration's name in messages.
	name() string
	// readConfig returns the configuration text.
	readConfig() ([]byte, error)
	// resolve turns a path written in the configuration into the path that is read.
	resolve(p string) string
	// loadPolicies reads and parses the policy file or folder at a resolved path.
	loadPolicies(resolved string) ([]*policy.File, error)
	// readFile reads another file (CA bundle, certificate, key) at a resolved path.
	readFile(resolved string) ([]byte, error)
	// watchable reports whether the files can change (and be watched).
	watchable() bool
	// display shortens a resolved path for logs and reports: relative to the
	// configuration's folder when it is inside it.
	display(resolved string) string
}

// fileSource is a configuration file on disk; relative paths resolve against its folder.
type fileSource struct {
	path string // as given
	dir  string // absolute folder of path
}

func newFileSource(p string) (*fileSource, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", p, err)
	}
	return &fileSource{path: p, dir: filepath.Dir(abs)}, nil
}

func (s *fileSource) name() string { return s.path }

func (s *fileSource) readConfig() ([]byte, error) {
	data, err := os.ReadFile(s.path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read config %s: %w", s.path, err)
	}
	return data, nil
}

func (s *fileSource) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(s.dir, p)
}

func (s *fileSource) loadPolicies(resolved string) ([]*policy.File, error) {
	return policy.Load([]string{resolved}, nil)
}

func (s *fileSource) watchable() bool { return true }

func (s *fileSource) readFile(resolved string) ([]byte, error) {
	const maxFile = 1 << 20
	data, err := os.ReadFile(resolved)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("read %s: %w", resolved, err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("read %s: larger than 1 MiB", resolved)
	}
	return data, nil
}

func (s *fileSource) display(resolved string) string {
	if rel, err := filepath.Rel(s.dir, resolved); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return resolved
}

// embeddedSource is the built-in configuration; its policy paths name embedded files.
type embeddedSource struct{}

func (embeddedSource) name() string                { return EmbeddedConfigName }
func (embeddedSource) readConfig() ([]byte, error) { return EmbeddedConfig(), nil }
func (embeddedSource) watchable() bool             { return false }
func (embeddedSource) display(p string) string     { return p }

func (embeddedSource) readFile(resolved string) ([]byte, error) {
	data, err := defaults.ReadFile(resolved)
	if err != nil {
		return nil, fmt.Errorf("read %s (embedded): %w", resolved, fs.ErrNotExist)
	}
	return data, nil
}

func (embeddedSource) resolve(p string) string {
	return path.Join("defaults", filepath.ToSlash(p))
}

func (embeddedSource) loadPolicies(resolved string) ([]*policy.File, error) {
	info, err := fs.Stat(defaults, resolved)
	if err != nil {
		return nil, fmt.Errorf("load policy %s (embedded): %w", resolved, fs.ErrNotExist)
	}
	names := []string{resolved}
	if info.IsDir() {
		names = nil
		err := fs.WalkDir(defaults, resolved, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
				names = append(names, p)
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("load policy %s (embedded): %w", resolved, err)
		}
		slices.Sort(names)
	}
	files := make([]*policy.File, 0, len(names))
	for _, n := range names {
		data, err := defaults.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("load policy %s (embedded): %w", n, err)
		}
		files = append(files, policy.Parse(strings.TrimPrefix(n, "defaults/"), data))
	}
	return files, nil
}
