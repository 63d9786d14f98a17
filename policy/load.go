package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MaxFileSize is the largest policy file Load reads (1 MiB). IAM itself
// limits a request body to 32 KB.
const MaxFileSize = 1 << 20

// Errors returned (wrapped) by Load.
var (
	// ErrTooLarge means a file or standard input holds more than
	// MaxFileSize bytes.
	ErrTooLarge = errors.New("policy file exceeds the 1 MiB limit")
	// ErrNoPolicies means a directory holds no *.json file.
	ErrNoPolicies = errors.New("no *.json files found")
	// ErrStdin means "-" was given without a reader or more than once.
	ErrStdin = errors.New("standard input unavailable or given more than once")
)

// Load reads and parses policy files. Each path is a file (read whatever
// its name), a directory (walked recursively for *.json files, in sorted
// order, following symbolic links but visiting each directory once), or
// "-" for stdin (File.Name "-"). Each input is bounded by MaxFileSize.
//
// Syntax problems are not errors: they are in File.Problems. I/O problems
// are: Load reads everything it can and returns those files together with
// all errors joined, each wrapped as "load policy <path>: <cause>", so
// errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrTooLarge) etc. work.
// No paths means no files and no error.
func Load(paths []string, stdin io.Reader) ([]*File, error) {
	var files []*File
	var errs []error
	stdinUsed := false
	for _, path := range paths {
		if path == "-" {
			if stdin == nil || stdinUsed {
				errs = append(errs, fmt.Errorf("load policy stdin: %w", ErrStdin))
				continue
			}
			stdinUsed = true
			data, err := readLimited(stdin)
			if err != nil {
				errs = append(errs, fmt.Errorf("load policy stdin: %w", err))
				continue
			}
			files = append(files, Parse("-", data))
			continue
		}
		info, err := os.Stat(path)
		if err != nil {
			errs = append(errs, loadError(path, err))
			continue
		}
		names := []string{path}
		if info.IsDir() {
			var werrs []error
			names, werrs = jsonFiles(path)
			errs = append(errs, werrs...)
			if len(names) == 0 && len(werrs) == 0 {
				errs = append(errs, loadError(path, ErrNoPolicies))
			}
		}
		for _, name := range names {
			f, err := loadFile(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			files = append(files, f)
		}
	}
	return files, errors.Join(errs...)
}

// loadFile reads and parses one file.
func loadFile(name string) (*File, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, loadError(name, err)
	}
	defer fh.Close()
	data, err := readLimited(fh)
	if err != nil {
		return nil, loadError(name, err)
	}
	return Parse(name, data), nil
}

// readLimited reads r up to MaxFileSize bytes; more is ErrTooLarge.
func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, ErrTooLarge
	}
	return data, nil
}

// jsonFiles returns the regular *.json files under dir, sorted. Symbolic
// links are followed; a directory reached twice (a link loop or two links
// to one place) is walked once.
func jsonFiles(dir string) ([]string, []error) {
	var out []string
	var errs []error
	var seen []fs.FileInfo
	var walk func(string)
	walk = func(d string) {
		info, err := os.Stat(d)
		if err != nil {
			errs = append(errs, loadError(d, err))
			return
		}
		for _, s := range seen {
			if os.SameFile(s, info) {
				return
			}
		}
		seen = append(seen, info)
		entries, err := os.ReadDir(d)
		if err != nil {
			errs = append(errs, loadError(d, err))
			return
		}
		for _, e := range entries {
			p := filepath.Join(d, e.Name())
			isJSON := strings.HasSuffix(e.Name(), ".json")
			typ := e.Type()
			if typ&fs.ModeSymlink != 0 {
				st, err := os.Stat(p)
				if err != nil {
					if isJSON {
						errs = append(errs, loadError(p, err))
					}
					continue
				}
				typ = st.Mode().Type()
			}
			switch {
			case typ.IsDir():
				walk(p)
			case typ.IsRegular() && isJSON:
				out = append(out, p)
			}
		}
	}
	walk(dir)
	slices.Sort(out)
	return out, errs
}

// loadError wraps err for path, dropping a *fs.PathError about the same
// path so the path is not named twice.
func loadError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path {
		err = pe.Err
	}
	return fmt.Errorf("load policy %s: %w", path, err)
}
