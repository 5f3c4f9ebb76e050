package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/seal/hsm"
	"github.com/trentkms/trent/internal/store"
)

// trent rootkey rotate|status talk to a running node through its admin
// socket: the node holds the keyring unsealed and the store open (the
// embedded store is one process's), and keeps serving while it rewraps.

func init() { extraCommands = append(extraCommands, newRootkeyCmd) }

// sealedVisitors are the visitors of every package's sealed records: what
// a rotation rewraps and status counts. A package that seals a new kind of
// record under the root key adds it to its visitor.
var sealedVisitors = []seal.Visitor{kms.VisitSealed, iam.VisitSealed}

// rootkeyAdmin is what the admin socket needs for the rootkey endpoints,
// set once the node is unsealed.
type rootkeyAdmin struct {
	st     store.Store
	sealer *seal.Sealer
	spec   sealSpec
	log    *slog.Logger
	// running serialises rotations on this node; the rotation record
	// refuses a second one on another node.
	running sync.Mutex
}

// startRootkey makes the node's keyring follow the store and gives the
// admin socket its rootkey endpoints; trent serve calls it once unsealed.
func startRootkey(ctx context.Context, a *adminSocket, st store.Store, s *seal.Sealer, spec sealSpec, log *slog.Logger) {
	go s.Follow(ctx, st, log)
	a.rootkey.Store(&rootkeyAdmin{st: st, sealer: s, spec: spec, log: log})
}

// rootkeyRoutes adds the rootkey endpoints to the admin socket's mux.
func (a *adminSocket) rootkeyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/rootkey", a.rootkeyStatus)
	mux.HandleFunc("POST /v1/rootkey/rotate", a.rootkeyRotate)
}

// rootkeyStatusResponse is what GET /v1/rootkey answers.
type rootkeyStatusResponse struct {
	Seal     string
	Versions []rootkeyVersion // newest first
	// Rotation is the rotation under way, if any.
	Rotation *rootkeyRotation `json:",omitempty"`
	// Unversioned counts records whose sealed field is not a sealed blob
	// (it should be 0).
	Unversioned int64 `json:",omitempty"`
}

type rootkeyVersion struct {
	Version    uint32
	Created    time.Time
	Superseded time.Time `json:",omitzero"`
	Records    int64     // records that hold a blob sealed under it
	Held       bool      // this node holds it
}

type rootkeyRotation struct {
	seal.RotateProgress
	Started time.Time
}

func (a *adminSocket) rootkeyStatus(w http.ResponseWriter, r *http.Request) {
	rk := a.rootkey.Load()
	if rk == nil {
		writeAdmin(w, http.StatusServiceUnavailable, adminError{"this node is sealed"})
		return
	}
	ctx := r.Context()
	kr, err := seal.ReadKeyring(ctx, rk.st)
	if err != nil {
		writeAdmin(w, http.StatusInternalServerError, adminError{err.Error()})
		return
	}
	counts, err := seal.Count(ctx, rk.st, sealedVisitors)
	if err != nil {
		writeAdmin(w, http.StatusInternalServerError, adminError{err.Error()})
		return
	}
	out := rootkeyStatusResponse{Seal: kr.Seal.String(), Unversioned: counts[0]}
	for _, v := range kr.Versions {
		out.Versions = append(out.Versions, rootkeyVersion{Version: v.Version, Created: v.Created, Superseded: v.Superseded, Records: counts[v.Version], Held: rk.sealer.Holds(v.Version)})
	}
	p, started, ok, err := seal.Rotation(ctx, rk.st)
	if err != nil {
		writeAdmin(w, http.StatusInternalServerError, adminError{err.Error()})
		return
	}
	if ok {
		out.Rotation = &rootkeyRotation{RotateProgress: p, Started: started}
	}
	writeAdmin(w, http.StatusOK, out)
}

// rotateRequest is the body of POST /v1/rootkey/rotate.
type rotateRequest struct {
	// Passphrase and PIN are the seal's secrets, which the node forgot once
	// unsealed, for wrapping a new version: the passphrase of the
	// passphrase seal, the PIN of the pkcs11 seal (else its pin-file).
	Passphrase string `json:",omitempty"`
	PIN        string `json:",omitempty"`
	Batch      int    `json:",omitempty"`
	RetireNow  bool   `json:",omitempty"`
}

// rotateEvent is one line of the rotate endpoint's answer, a stream of JSON
// lines: progress, then a result or an error.
type rotateEvent struct {
	Progress *seal.RotateProgress `json:",omitempty"`
	Result   *seal.RotateResult   `json:",omitempty"`
	Error    string               `json:",omitempty"`
}

func (a *adminSocket) rootkeyRotate(w http.ResponseWriter, r *http.Request) {
	rk := a.rootkey.Load()
	if rk == nil {
		writeAdmin(w, http.StatusServiceUnavailable, adminError{"this node is sealed"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	defer clear(body)
	var req rotateRequest
	if err != nil || (len(body) > 0 && json.Unmarshal(body, &req) != nil) || req.Batch < 0 || req.Batch > 10000 {
		writeAdmin(w, http.StatusBadRequest, adminError{"want a JSON body {\"Batch\": 1…10000, \"RetireNow\": bool, \"Passphrase\"|\"PIN\": \"…\"}"})
		return
	}
	pass, pin := []byte(req.Passphrase), []byte(req.PIN)
	defer clear(pass)
	defer clear(pin)
	if !rk.running.TryLock() {
		writeAdmin(w, http.StatusTooManyRequests, adminError{"a rotation is running on this node"})
		return
	}
	defer rk.running.Unlock()
	ctx := r.Context()
	// The seal is needed only to wrap a new version, not to resume.
	var wrapper seal.Wrapper
	if _, _, under, err := seal.Rotation(ctx, rk.st); err != nil {
		writeAdmin(w, http.StatusInternalServerError, adminError{err.Error()})
		return
	} else if !under {
		if wrapper, err = rk.spec.rotationWrapper(ctx, pass, pin); err != nil {
			writeAdmin(w, http.StatusBadRequest, adminError{err.Error()})
			return
		}
		defer wrapper.Close()
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	var last time.Time
	res, err := seal.Rotate(ctx, rk.st, rk.sealer, wrapper, sealedVisitors, seal.RotateOptions{
		Batch: req.Batch, RetireNow: req.RetireNow, Rand: rand.Reader,
		Progress: func(p seal.RotateProgress) {
			// The first batch is told at once, then at most ten a second.
			if !last.IsZero() && time.Since(last) < 100*time.Millisecond {
				return
			}
			last = time.Now()
			enc.Encode(rotateEvent{Progress: &p})
			flush()
		},
	})
	if err != nil {
		// Rotation errors name records and versions, never a secret.
		rk.log.Error("root key rotation", "err", err)
		enc.Encode(rotateEvent{Error: err.Error()})
		return
	}
	rk.log.Info("root key rotation", "version", res.Target, "rewrapped", res.Rewrapped, "retired", res.Retired, "waiting", res.Waiting)
	enc.Encode(rotateEvent{Result: &res})
	flush()
}

// rotationWrapper makes the node's seal again, to wrap a new root key
// version, with the secrets the operator gave (the node forgot its own).
func (sp sealSpec) rotationWrapper(ctx context.Context, pass, pin []byte) (seal.Wrapper, error) {
	switch sp.kind {
	case seal.Passphrase:
		if len(pass) == 0 {
			if sp.file == "" {
				return nil, errors.New("the passphrase seal needs its passphrase to wrap a new root key version")
			}
			p, err := sp.passphrase(nil, nil)
			if err != nil {
				return nil, err
			}
			defer clear(p)
			return sp.wrapper(ctx, p)
		}
		return sp.wrapper(ctx, pass)
	case seal.PKCS11:
		if len(pin) > 0 {
			return hsm.New(hsm.Config{Module: sp.module, Token: sp.token, PIN: string(pin)})
		}
		if sp.pinFile == "" {
			return nil, fmt.Errorf("the pkcs11 seal needs its PIN to wrap a new root key version: set %s for trent rootkey rotate", envPIN)
		}
	}
	return sp.wrapper(ctx, nil)
}

func newRootkeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rootkey",
		Short: "The root key that seals every key: rotate, status",
	}
	cmd.AddCommand(newRootkeyRotateCmd(), newRootkeyStatusCmd())
	return cmd
}

func newRootkeyStatusCmd() *cobra.Command {
	var (
		f      adminFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the root key versions and how many records each seals, through a node's admin socket",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st rootkeyStatusResponse
			if err := newAdminClient(f.path()).do("GET", "/v1/rootkey", nil, &st); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, _ := json.MarshalIndent(st, "", "  ")
				fmt.Fprintln(out, string(b))
				return nil
			}
			fmt.Fprintf(out, "Seal: %s\n", st.Seal)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tCREATED\tSUPERSEDED\tRECORDS")
			for _, v := range st.Versions {
				sup := "-"
				if !v.Superseded.IsZero() {
					sup = v.Superseded.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\n", v.Version, v.Created.Format(time.RFC3339), sup, v.Records)
			}
			tw.Flush()
			if r := st.Rotation; r != nil {
				what := "rewrapping"
				if r.Pass > 0 {
					what = fmt.Sprintf("verification pass %d", r.Pass)
				}
				fmt.Fprintf(out, "A rotation to version %d is under way (%s, %d records rewrapped): trent rootkey rotate continues it.\n", r.Target, what, r.Rewrapped)
			}
			if st.Unversioned > 0 {
				fmt.Fprintf(out, "%d records hold a sealed field that is not a sealed blob.\n", st.Unversioned)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRootkeyRotateCmd() *cobra.Command {
	var (
		f         adminFlags
		batch     int
		retireNow bool
	)
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new root key version and rewrap every sealed record under it, online",
		Long: `Make a new root key version, wrapped by the node's seal, and rewrap every
sealed record under it while the nodes keep serving; then retire the older
versions once a verification pass finds nothing sealed under them.

It runs in the node whose admin socket it talks to (any node of a cluster);
every node picks the new version up through the store and seals with it at
once. The rewrap goes in batches of --batch records, each one conditional
transaction that also records where it is: if it is stopped (even by kill -9
of the node), run it again and it resumes there.

An older version also sealed the import tokens handed out by
GetParametersForImport, valid for 24 hours and not in the store: it is kept
until they have expired (run trent rootkey rotate again then), unless
--retire-now, after which such tokens are refused.

The passphrase seal needs the passphrase to wrap the new version: it is
asked on the terminal, or read from TRENT_SEAL_PASSPHRASE, or as a line of
standard input. The pkcs11 seal takes TRENT_SEAL_PIN (or its pin-file).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := newAdminClient(f.path())
			var node adminStatus
			if err := c.do("GET", "/v1/status", nil, &node); err != nil {
				return err
			}
			if node.Sealed {
				return errors.New("the node is sealed: unseal it first")
			}
			req := rotateRequest{Batch: batch, RetireNow: retireNow}
			var st rootkeyStatusResponse
			if err := c.do("GET", "/v1/rootkey", nil, &st); err != nil {
				return err
			}
			if st.Rotation == nil {
				switch node.Seal {
				case seal.Passphrase.String():
					pass := []byte(os.Getenv(envPassphrase))
					if len(pass) == 0 {
						var err error
						if pass, err = newSecrets(cmd.InOrStdin()).ask("Passphrase of the seal: ", false); err != nil {
							return err
						}
					}
					req.Passphrase = string(pass)
					clear(pass)
				case seal.PKCS11.String():
					req.PIN = os.Getenv(envPIN)
				}
			}
			return streamRotation(f.path(), req, cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&batch, "batch", 100, "records rewrapped in one transaction")
	cmd.Flags().BoolVar(&retireNow, "retire-now", false, "retire older versions as soon as no record refers to them, without waiting for the import tokens they sealed to expire")
	return cmd
}

// streamRotation posts req and prints the node's progress as it comes. It
// has no timeout: a rotation of a large store takes a while, and stopping
// it is safe.
func streamRotation(sock string, req rotateRequest, out io.Writer) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	defer clear(b)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Post("http://trent/v1/rootkey/rotate", "application/json", strings.NewReader(string(b)))
	if err != nil {
		return fmt.Errorf("admin socket %s: %w (is trent serve running with this data directory?)", sock, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e adminError
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("admin socket: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev rotateEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("admin socket: %w", err)
		}
		switch {
		case ev.Error != "":
			return errors.New(ev.Error)
		case ev.Progress != nil:
			p := ev.Progress
			what := "rewrapping"
			if p.Pass > 0 {
				what = fmt.Sprintf("verification pass %d", p.Pass)
			}
			fmt.Fprintf(out, "version %d: %s, %d records rewrapped\n", p.Target, what, p.Rewrapped)
		case ev.Result != nil:
			r := ev.Result
			if r.Resumed {
				fmt.Fprintf(out, "Resumed the rotation to version %d.\n", r.Target)
			}
			fmt.Fprintf(out, "Root key version %d seals every record (%d rewrapped).\n", r.Target, r.Rewrapped)
			if len(r.Retired) > 0 {
				fmt.Fprintf(out, "Retired version(s) %s.\n", versionList(r.Retired))
			}
			if len(r.Waiting) > 0 {
				fmt.Fprintf(out, "Version(s) %s seal no record, and are kept until %s for the import tokens they sealed: run trent rootkey rotate again then (or now with --retire-now).\n",
					versionList(r.Waiting), r.RetireAt.Format(time.RFC3339))
			}
			return nil
		}
	}
	// A node that stops (or is killed) cuts the stream: what it did is in
	// the store, and the rotation record says where it stopped.
	why := "it closed the connection"
	if err := sc.Err(); err != nil {
		why = err.Error()
	}
	return fmt.Errorf("the node stopped answering before the rotation ended (%s): run trent rootkey rotate again to resume it", why)
}

func versionList(vs []uint32) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}
