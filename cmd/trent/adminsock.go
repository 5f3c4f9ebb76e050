package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/store"
)

// The admin socket is how an operator unseals a node that started sealed.
//
// It is a Unix socket in the data directory (mode 0600, in a 0700
// directory), and each connection's peer must be the user running trent, or
// root (SO_PEERCRED): reaching it needs a shell on the host as that user,
// and unsealing needs the passphrase on top. It is never a TCP port, so the
// passphrase never crosses a network and cannot be guessed from one. The
// signed TrentAdmin API cannot do this job: a sealed node cannot check a
// signature, since every access key's secret is sealed under the root key.

// adminStatus is what GET /v1/status answers.
type adminStatus struct {
	Sealed      bool
	Initialized bool   // the store has a root key
	Seal        string // the configured seal
}

type unsealRequest struct {
	Passphrase string
}

type adminError struct {
	Error string
}

// adminSocket serves the admin socket of trent serve.
type adminSocket struct {
	path        string
	kind        seal.Kind
	sealed      atomic.Bool
	initialized atomic.Bool
	// unseal tries a passphrase; nil when the seal takes none. One attempt
	// runs at a time (busy); a successful one clears sealed.
	unseal func(ctx context.Context, passphrase []byte) error
	busy   chan struct{}
	st     store.Store // for backups
	// rootkey serves trent rootkey once the node is unsealed (rootkey.go).
	rootkey atomic.Pointer[rootkeyAdmin]
	log     *slog.Logger
	srv     *http.Server
}

// listenAdmin listens on the socket at path, replacing a stale socket that
// no process answers on.
func listenAdmin(path string) (net.Listener, error) {
	if len(path) > 107 { // sun_path holds 108 bytes with its NUL
		return nil, fmt.Errorf("--admin-socket %s is longer than the 107 bytes a Unix socket path may have: give a shorter --admin-socket", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("--admin-socket %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("--admin-socket %s: another trent serve answers on it", path)
		}
		os.Remove(path)
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("--admin-socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("--admin-socket: %w", err)
	}
	return ln, nil
}

type connKey struct{}

func (a *adminSocket) serve(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", a.status)
	mux.HandleFunc("POST /v1/unseal", a.unsealHandler)
	mux.HandleFunc("GET /v1/backup", a.backupHandler)
	a.rootkeyRoutes(mux)
	a.srv = &http.Server{
		Handler:           a.peerCheck(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext:       func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
	}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin socket stopped", "err", err)
		}
	}()
}

func (a *adminSocket) close() {
	if a.srv != nil {
		a.srv.Close()
	}
	os.Remove(a.path)
}

// peerCheck refuses a peer that is not this process's user or root, should
// the socket's mode have been widened.
func (a *adminSocket) peerCheck(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(connKey{}).(net.Conn)
		uid, err := peerUID(c)
		if err != nil || (uid != uint32(os.Getuid()) && uid != 0) {
			a.log.Warn("admin socket: refused a peer", "uid", uid, "err", err)
			writeAdmin(w, http.StatusForbidden, adminError{"only the user running trent, or root, may use the admin socket"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

func peerUID(c net.Conn) (uint32, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, errors.New("not a Unix socket")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	return cred.Uid, nil
}

func writeAdmin(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (a *adminSocket) status(w http.ResponseWriter, _ *http.Request) {
	writeAdmin(w, http.StatusOK, adminStatus{Sealed: a.sealed.Load(), Initialized: a.initialized.Load(), Seal: a.kind.String()})
}

func (a *adminSocket) unsealHandler(w http.ResponseWriter, r *http.Request) {
	if a.unseal == nil {
		writeAdmin(w, http.StatusBadRequest, adminError{fmt.Sprintf("this node's %s seal takes no passphrase", a.kind)})
		return
	}
	select {
	case a.busy <- struct{}{}:
		defer func() { <-a.busy }()
	default:
		writeAdmin(w, http.StatusTooManyRequests, adminError{"another unseal attempt is running"})
		return
	}
	if !a.sealed.Load() {
		writeAdmin(w, http.StatusConflict, adminError{"this node is unsealed already"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4096))
	defer clear(body)
	var req unsealRequest
	if err != nil || json.Unmarshal(body, &req) != nil || req.Passphrase == "" {
		writeAdmin(w, http.StatusBadRequest, adminError{"want a JSON body {\"Passphrase\": \"…\"}"})
		return
	}
	pass := []byte(req.Passphrase)
	defer clear(pass)
	if err := a.unseal(r.Context(), pass); err != nil {
		// The errors of unsealing name the cause and never a secret.
		a.log.Warn("unseal refused", "err", err)
		writeAdmin(w, http.StatusForbidden, adminError{err.Error()})
		return
	}
	writeAdmin(w, http.StatusOK, adminStatus{Sealed: false, Initialized: true, Seal: a.kind.String()})
}

// adminClient talks to a node's admin socket.
type adminClient struct {
	path string
	c    *http.Client
}

func newAdminClient(path string) *adminClient {
	return &adminClient{path: path, c: &http.Client{
		Timeout: 2 * time.Minute, // Argon2id with costly parameters takes a while
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}}
}

func (a *adminClient) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		defer clear(b)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://trent"+path, rd)
	if err != nil {
		return err
	}
	resp, err := a.c.Do(req)
	if err != nil {
		return fmt.Errorf("admin socket %s: %w (is trent serve running with this data directory?)", a.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e adminError
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("admin socket: %s", resp.Status)
	}
	return json.Unmarshal(b, out)
}

// adminFlags locate a node's admin socket.
type adminFlags struct{ dataDir, socket string }

func (f *adminFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", envOr("TRENT_DATA_DIR", "./trent-data"), "the node's data directory, where its admin socket is [TRENT_DATA_DIR]")
	cmd.Flags().StringVar(&f.socket, "admin-socket", os.Getenv("TRENT_ADMIN_SOCKET"), "the node's admin socket; default <data-dir>/admin.sock [TRENT_ADMIN_SOCKET]")
}

func (f *adminFlags) path() string {
	if f.socket != "" {
		return f.socket
	}
	return filepath.Join(f.dataDir, "admin.sock")
}

func newUnsealCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "unseal",
		Short: "Unseal a running node that started sealed (the passphrase seal)",
		Long: `Unseal a running trent serve whose seal is a passphrase that it was not given
at start. The passphrase is asked on the terminal without echo, or read as one
line of standard input. On a store that has no root key yet it is asked twice,
and the node makes the root key wrapped by it. It goes to the node through its
admin socket, a Unix socket only its user (or root) can use.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := newAdminClient(f.path())
			var st adminStatus
			if err := c.do("GET", "/v1/status", nil, &st); err != nil {
				return err
			}
			if !st.Sealed {
				fmt.Fprintln(cmd.OutOrStdout(), "The node is unsealed already.")
				return nil
			}
			if st.Seal != seal.Passphrase.String() {
				return fmt.Errorf("the node's %s seal takes no passphrase: it unseals itself, or stops with the reason", st.Seal)
			}
			prompt := "Passphrase: "
			if !st.Initialized {
				prompt = "The store has no root key yet: choose its passphrase: "
			}
			pass, err := newSecrets(cmd.InOrStdin()).ask(prompt, !st.Initialized)
			if err != nil {
				return err
			}
			defer clear(pass)
			req := unsealRequest{Passphrase: string(pass)}
			if err := c.do("POST", "/v1/unseal", req, &st); err != nil {
				return fmt.Errorf("unseal: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Unsealed.")
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
