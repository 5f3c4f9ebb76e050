package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/seal"
)

func newSealCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seal",
		Short: "The seal that keeps the root key wrapped: status, migrate",
	}
	cmd.AddCommand(newSealStatusCmd(), newSealMigrateCmd())
	return cmd
}

func newSealStatusCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Say whether a running node is sealed, through its admin socket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st adminStatus
			if err := newAdminClient(f.path()).do("GET", "/v1/status", nil, &st); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(st, "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newSealMigrateCmd() *cobra.Command {
	var (
		from, to, dataDir string
		sf                storeFlags
	)
	cmd := &cobra.Command{
		Use:   "migrate --from SEAL --to SEAL",
		Short: "Rewrap the store's root key from one seal to another",
		Long: `Rewrap the store's root key from one seal to another, in one conditional write.
The root key itself does not change, so no sealed record is rewritten and nodes
that are running keep serving; start them with the new --seal afterwards.
SEAL is written as for trent serve --seal. A passphrase without a source is
asked on the terminal (the new one twice), or read as a line of standard input
(the old one first). The new seal must unwrap what it wrapped before anything
is written; on any error nothing changes.

The embedded store (bolt) is one process's: stop its trent serve first. With
etcd, run it while the nodes serve.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if from == "" || to == "" {
				return errors.New("--from and --to are both required")
			}
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return err
			}
			fromSpec, err := parseSealSpec(from, dir)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			toSpec, err := parseSealSpec(to, dir)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			sec := newSecrets(cmd.InOrStdin())
			fromW, err := migrateWrapper(cmd, fromSpec, sec, "Current passphrase: ", false)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			defer fromW.Close()
			toW, err := migrateWrapper(cmd, toSpec, sec, "New passphrase: ", true)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			defer toW.Close()
			st, err := sf.open(ctx, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := seal.Migrate(ctx, st, fromW, toW, time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "The root key is now wrapped by the %s seal. Start every node with --seal %s.\n", toSpec.kind, toSpec.raw)
			if fromSpec.kind == seal.File {
				fmt.Fprintf(cmd.OutOrStdout(), "%s no longer opens it; delete it (and its backups).\n", fromSpec.path)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "the seal that wraps the root key now")
	f.StringVar(&to, "to", "", "the seal to wrap it with")
	f.StringVar(&dataDir, "data-dir", envOr("TRENT_DATA_DIR", "./trent-data"), "the data directory (the embedded store, the file seal's key file) [TRENT_DATA_DIR]")
	sf.register(f)
	return cmd
}

func migrateWrapper(cmd *cobra.Command, sp sealSpec, sec *secrets, prompt string, confirm bool) (seal.Wrapper, error) {
	var pass []byte
	if sp.kind == seal.Passphrase {
		var err error
		pass, err = sp.passphrase(sec, func() ([]byte, error) { return sec.ask(prompt, confirm) })
		if err != nil {
			return nil, err
		}
		defer clear(pass)
	}
	if sp.kind == seal.File && confirm {
		if _, err := os.Stat(sp.path); err == nil {
			return nil, fmt.Errorf("%s exists: migrating to the file seal makes a new key file", sp.path)
		}
	}
	return sp.wrapper(cmd.Context(), pass)
}
