// Command trent is a self-hosted key management service that speaks the AWS
// KMS API. `trent serve` runs the server; other subcommands are tools.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "trent",
		Short:         "A self-hosted key management service that speaks the AWS KMS API",
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints what `trent version` prints.
		Version: version(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.AddCommand(newVersionCmd(), newServeCmd(), newConfigCmd(), newPolicyCmd(), newAccountCmd(), newAuthzCmd(), newServiceCmd(), newOIDCCmd(), newUnsealCmd(), newSealCmd(), newBackupCmd(), newRestoreCmd(), newMigrateCmd())
	for _, c := range extraCommands {
		root.AddCommand(c())
	}
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "trent:", err)
		os.Exit(1)
	}
}

// extraCommands are subcommands that live in files of their own.
var extraCommands []func() *cobra.Command
