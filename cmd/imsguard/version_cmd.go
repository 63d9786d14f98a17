package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// buildVersion is what the binary knows about itself, from runtime/debug.ReadBuildInfo:
// the module version (a tag such as v0.1.0 when installed with go install ...@v0.1.0, a
// pseudo-version when built in a checkout, "(devel)" when the build recorded none) and
// the VCS revision, commit time and dirty flag that go build stamps in a checkout.
type buildVersion struct {
	Module    string
	Version   string
	Revision  string
	Time      string
	Modified  bool
	GoVersion string
}

// readBuildVersion reads the build information of the running binary.
func readBuildVersion() buildVersion {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildVersion{Version: "(devel)", GoVersion: runtime.Version()}
	}
	return buildVersionOf(bi)
}

// buildVersionOf extracts a buildVersion from build information.
func buildVersionOf(bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// short is the one-line version: "v0.1.0", "(devel) rev 0123456789ab, modified".
func (v buildVersion) short() string {
	s := v.Version
	if v.Revision != "" && !strings.Contains(v.Version, shortRev(v.Revision)) {
		s += " rev " + shortRev(v.Revision)
		if v.Modified {
			s += ", modified"
		}
	}
	return s
}

// shortRev is the first 12 characters of a revision, as pseudo-versions carry it.
func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

// write prints the version details, one "key  value" line each.
func (v buildVersion) write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "imsguard %s\n", v.short())
	if v.Module != "" {
		fmt.Fprintf(&b, "module    %s %s\n", v.Module, v.Version)
	}
	if v.Revision != "" {
		rev := v.Revision
		if v.Time != "" {
			rev += " (" + v.Time + ")"
		}
		if v.Modified {
			rev += ", modified (uncommitted changes)"
		}
		fmt.Fprintf(&b, "revision  %s\n", rev)
	} else {
		b.WriteString("revision  unknown (not built from a checkout with VCS stamping)\n")
	}
	fmt.Fprintf(&b, "go        %s %s/%s\n", v.GoVersion, runtime.GOOS, runtime.GOARCH)
	_, err := io.WriteString(w, b.String())
	return err
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision and Go version of this binary",
		Long: `Print what this binary was built from: the module version (a tag when installed with
go install github.com/imsguard/imsguard/cmd/imsguard@VERSION), the VCS revision, commit time
and whether the checkout had uncommitted changes (stamped by go build in a checkout), and
the Go version. imsguard --version prints the first line.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return readBuildVersion().write(cmd.OutOrStdout())
		},
	}
}

// version is the tool version SARIF logs carry: the module version, with the revision
// when the build has no better name for itself.
func version() string {
	return readBuildVersion().short()
}
