package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version describes this binary from the build information the Go toolchain
// embeds (runtime/debug.ReadBuildInfo): the module version (a tag when built
// with go install …@vX, "(devel)" from a checkout), the Go version, the
// target, and the VCS revision and time when the build recorded them (a
// build with -buildvcs=false or from a module zip has none).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "trent (no build information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "trent %s\n", v)
	fmt.Fprintf(&b, "  go:       %s\n", bi.GoVersion)
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if goos, arch := settings["GOOS"], settings["GOARCH"]; goos != "" {
		fmt.Fprintf(&b, "  platform: %s/%s\n", goos, arch)
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		fmt.Fprintf(&b, "  commit:   %s\n", rev)
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(&b, "  date:     %s\n", t)
	}
	if flags := settings["-tags"]; flags != "" {
		fmt.Fprintf(&b, "  tags:     %s\n", flags)
	}
	if settings["-race"] == "true" {
		fmt.Fprintf(&b, "  race detector on\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// buildVersion is the module version alone, for telemetry.
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and build information",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), version())
		},
	}
}
