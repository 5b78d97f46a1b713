package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version is the build's version: "dev" unless the build sets it
// (go build -ldflags "-X github.com/azlocal/registrar/shared/cli.Version=v1.2.3").
var Version = "dev"

// BuildInfo is what `registrar version` reports.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`     // the VCS revision the binary was built from
	CommitAt  string `json:"commitTime,omitempty"` // its commit time (RFC 3339)
	Modified  bool   `json:"modified,omitempty"`   // built from a work tree with uncommitted changes
	GoVersion string `json:"goVersion"`
}

// readBuildInfo reads the version and the VCS stamp Go embeds in binaries built with `go build`
// or `go install` inside a git checkout (`go run` embeds none: the commit is then unknown).
func readBuildInfo() BuildInfo {
	bi := BuildInfo{Version: Version}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	bi.GoVersion = info.GoVersion
	if bi.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		bi.Version = info.Main.Version // go install module@version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Commit = s.Value
		case "vcs.time":
			bi.CommitAt = s.Value
		case "vcs.modified":
			bi.Modified = s.Value == "true"
		}
	}
	return bi
}

// String is the one-line form: registrar v1.2.3 (commit abc1234, 2026-11-30T10:00:00Z, modified; go1.26.8).
func (b BuildInfo) String() string {
	var parts []string
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		parts = append(parts, "commit "+c)
	} else {
		parts = append(parts, "commit unknown")
	}
	if b.CommitAt != "" {
		parts = append(parts, b.CommitAt)
	}
	if b.Modified {
		parts = append(parts, "modified")
	}
	s := fmt.Sprintf("registrar %s (%s", b.Version, strings.Join(parts, ", "))
	if b.GoVersion != "" {
		s += "; " + b.GoVersion
	}
	return s + ")"
}

func (s *session) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the build's version and commit",
		Example: "  registrar version\n  registrar version -o json",
		Args:    nArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			if err := s.checkOutput(); err != nil {
				return err
			}
			bi := s.buildInfo()
			if s.json() {
				return s.printJSON(bi)
			}
			fmt.Fprintln(s.Stdout, bi)
			return nil
		},
	}
}

func (s *session) buildInfo() BuildInfo {
	if s.BuildInfo != nil {
		return *s.BuildInfo
	}
	return readBuildInfo()
}
