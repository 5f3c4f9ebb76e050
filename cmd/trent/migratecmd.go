package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/backup"
	"github.com/trentkms/trent/internal/store"
)

func newMigrateCmd() *cobra.Command {
	var (
		from, to string
		replace  bool
		sf       storeFlags
	)
	cmd := &cobra.Command{
		Use:   "migrate --from STORE --to STORE",
		Short: "Copy every record from one store to another (embedded ↔ etcd)",
		Long: `Copy every record of one store, read at one revision, into another that is
empty (or, with --replace, whose records are replaced), then read the target
back and compare every record. A store is bolt:DIR (the embedded store of data
directory DIR) or etcd://… / etcds://… as for trent serve --store; the
--etcd-* flags and TRENT_ETCD_PASSWORD apply to the etcd side. Records are
copied as they are, sealed, so the seal that opens the source opens the
target. Stop every node of both stores first: writes made during the copy
would not be copied.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if from == "" || to == "" {
				return fmt.Errorf("--from and --to are both required")
			}
			src, err := openStoreArg(ctx, "--from", from, sf)
			if err != nil {
				return err
			}
			defer src.Close()
			if _, err := store.ReadSchema(ctx, src); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			dst, err := openStoreArg(ctx, "--to", to, sf)
			if err != nil {
				return err
			}
			defer dst.Close()
			kvs, rev, err := src.Range(ctx, "")
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			o := backup.RestoreOptions{Replace: replace}
			if strings.HasPrefix(to, "etcd") {
				o.MaxOps = 100
			}
			if err := backup.Restore(ctx, dst, kvs, o); err != nil {
				return err
			}
			got, _, err := dst.Range(ctx, "")
			if err != nil {
				return err
			}
			if err := sameRecords(kvs, got); err != nil {
				return fmt.Errorf("migrate: the target does not read back as the source: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Copied %d records (revision %d of %s) to %s and read them back.\n", len(kvs), rev, from, to)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "the store to copy: bolt:DIR or etcd://…")
	f.StringVar(&to, "to", "", "the store to copy into: bolt:DIR or etcd://…")
	f.BoolVar(&replace, "replace", false, "replace the records of a target that is not empty")
	sf.register(f)
	return cmd
}

// openStoreArg opens a --from or --to store: bolt:DIR or an etcd URL.
func openStoreArg(ctx context.Context, flag, arg string, sf storeFlags) (store.Store, error) {
	if dir, ok := strings.CutPrefix(arg, "bolt:"); ok {
		if dir == "" {
			return nil, fmt.Errorf("%s bolt: needs the data directory: bolt:DIR", flag)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		sf.url = "bolt"
		st, err := sf.open(ctx, abs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return st, nil
	}
	if !strings.HasPrefix(arg, "etcd://") && !strings.HasPrefix(arg, "etcds://") {
		return nil, fmt.Errorf("%s %q: want bolt:DIR or etcd://…", flag, arg)
	}
	sf.url = arg
	st, err := sf.open(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return st, nil
}

// sameRecords compares the keys and values of two ranges.
func sameRecords(want, got []store.KV) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i].Key != got[i].Key || !bytes.Equal(want[i].Value, got[i].Value) {
			return fmt.Errorf("record %s differs", want[i].Key)
		}
	}
	return nil
}
