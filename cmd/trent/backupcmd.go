package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/backup"
	"github.com/trentkms/trent/internal/seal"
)

// maxBackup bounds a backup read into memory to verify it whole before it is
// written anywhere.
const maxBackup = 4 << 30

func newBackupCmd() *cobra.Command {
	var (
		out string
		af  adminFlags
		sf  storeFlags
	)
	cmd := &cobra.Command{
		Use:   "backup [-o FILE]",
		Short: "Write a consistent snapshot of the whole store, online",
		Long: `Write every record of the store, read at one revision while Trent serves, to a
file (0600, written whole or not at all) or standard output. Key material and
secrets stay sealed under the root key, and the root key stays wrapped by the
seal; with the file seal, keep the key file too, or the backup cannot be
unsealed. With the embedded store the running node takes the snapshot (over
its admin socket); if none runs, the store file is read directly. With etcd
the prefix is read directly at one revision.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dir, err := filepath.Abs(af.dataDir)
			if err != nil {
				return err
			}
			sp, err := parseStoreURL(sf.url)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			fromNode := false
			if sp.engine == "bolt" {
				err := newAdminClient(af.path()).stream("/v1/backup", &buf)
				switch {
				case err == nil:
					fromNode = true
				case errors.Is(err, errNoNode):
					buf.Reset()
				default:
					return err
				}
			}
			if !fromNode {
				st, err := sf.open(ctx, dir)
				if err != nil {
					return err
				}
				_, err = backup.Snapshot(ctx, st, &buf, time.Now())
				st.Close()
				if err != nil {
					return err
				}
			}
			// Check what will be kept: a snapshot cut short on the way is
			// refused here rather than found out at restore.
			h, _, err := backup.Read(bytes.NewReader(buf.Bytes()))
			if err != nil {
				return fmt.Errorf("backup: the snapshot does not verify: %w", err)
			}
			if out == "-" {
				_, err = cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := writeFileDurably(out, buf.Bytes()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Backed up %d records at revision %d to %s\n", h.Records, h.Revision, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "-", "the backup file; - for standard output")
	af.register(cmd)
	sf.register(cmd.Flags())
	return cmd
}

func newRestoreCmd() *cobra.Command {
	var (
		replace  bool
		sealFlag string
		dataDir  string
		sf       storeFlags
	)
	cmd := &cobra.Command{
		Use:   "restore FILE|-",
		Short: "Load a backup into an empty store, verifying it first",
		Long: `Read a backup whole and verify it (format, every record, count, checksum),
and with --seal check that the seal unwraps its root key and that the root key
opens its canary; only then write it into the store, which must be empty
unless --replace is given. Stop every node of the store first. A truncated or
altered backup, a wrong seal or a non-empty store is refused and nothing is
written. With etcd the records are written in batches; a store left by an
interrupted restore is refused by every node until a restore completes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			dir, err := filepath.Abs(dataDir)
			if err != nil {
				return err
			}
			var in io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			h, kvs, err := backup.Read(io.LimitReader(in, maxBackup))
			if err != nil {
				return err
			}
			if sealFlag != "" {
				sp, err := parseSealSpec(sealFlag, dir)
				if err != nil {
					return err
				}
				w, err := migrateWrapper(cmd, sp, newSecrets(cmd.InOrStdin()), "Passphrase: ", false)
				if err != nil {
					return err
				}
				err = seal.Verify(ctx, kvs, w)
				w.Close()
				if err != nil {
					return fmt.Errorf("restore: the backup's root key: %w", err)
				}
			}
			stSpec, err := parseStoreURL(sf.url)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			st, err := sf.open(ctx, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			o := backup.RestoreOptions{Replace: replace}
			if stSpec.engine == "etcd" {
				o.MaxOps = 100 // under etcd's default --max-txn-ops of 128
			}
			if err := backup.Restore(ctx, st, kvs, o); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %d records of a backup taken %s at revision %d.\n", h.Records, h.Time.Format(time.RFC3339), h.Revision)
			if sealFlag == "" {
				fmt.Fprintln(cmd.OutOrStdout(), "No --seal was given: the first start checks that its seal opens the root key.")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&replace, "replace", false, "replace the records of a store that is not empty")
	f.StringVar(&sealFlag, "seal", os.Getenv("TRENT_SEAL"), "check before writing that this seal (as trent serve --seal) opens the backup's root key [TRENT_SEAL]")
	f.StringVar(&dataDir, "data-dir", envOr("TRENT_DATA_DIR", "./trent-data"), "the data directory (the embedded store, the file seal's key file) [TRENT_DATA_DIR]")
	sf.register(f)
	return cmd
}

// backupHandler streams a snapshot of the node's store (GET /v1/backup).
func (a *adminSocket) backupHandler(w http.ResponseWriter, r *http.Request) {
	if a.st == nil {
		writeAdmin(w, http.StatusServiceUnavailable, adminError{"the store is not open"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if _, err := backup.Snapshot(r.Context(), a.st, w, time.Now()); err != nil {
		// The client verifies the backup, so a cut stream is refused there.
		a.log.Error("backup", "err", err)
	}
}

// errNoNode is returned by stream when no node answers on the socket.
var errNoNode = errors.New("no node answers on the admin socket")

// stream copies the body of GET path to w.
func (a *adminClient) stream(path string, w io.Writer) error {
	if _, err := os.Stat(a.path); errors.Is(err, os.ErrNotExist) {
		return errNoNode
	}
	resp, err := a.c.Get("http://trent" + path)
	if err != nil {
		return errNoNode
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin socket: %s", resp.Status)
	}
	_, err = io.Copy(w, io.LimitReader(resp.Body, maxBackup))
	return err
}

// writeFileDurably writes b to path (mode 0600) whole or not at all:
// a temporary file, fsync, rename, fsync of the directory.
func writeFileDurably(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".trent-backup-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
