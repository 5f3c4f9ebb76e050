// Package tlsreload serves TLS from certificate and key files that change
// while the server runs (a certificate renewed by cert-manager, ACME or an
// operator), and optionally requires client certificates signed by a CA
// bundle (mutual TLS), which may change too.
//
// A Reloader stats its files every Interval (Run) — a cheap check, off the
// handshake path — and loads them again when any changed. A change that does
// not load (a certificate without its new key yet, a truncated file) is
// logged and retried at the next check, and the previous certificate serves
// meanwhile: a bad renewal never takes the listener down. Handshakes only
// load an atomic pointer.
//
// # Concurrency
//
// Config's handshakes, Check and Run are safe for concurrent use.
package tlsreload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultInterval is how often Run checks the files unless told otherwise.
const DefaultInterval = 5 * time.Second

// Options configure New.
type Options struct {
	// ClientCA, if set, is a PEM bundle of the CAs whose certificates
	// clients must present: the listener then refuses a handshake without
	// a client certificate that verifies against it.
	ClientCA string
	// Interval is how often Run checks the files. 0: DefaultInterval.
	Interval time.Duration
	// Log receives reloads and failed reloads. nil: slog.Default().
	Log *slog.Logger
}

// Reloader holds the TLS configuration loaded from its files.
type Reloader struct {
	files    []string // certificate, key, and the client CA bundle if any
	interval time.Duration
	log      *slog.Logger
	base     *tls.Config // what every handshake's configuration starts from

	cur atomic.Pointer[tls.Config] // the configuration handshakes use

	mu     sync.Mutex // serialises Check
	stamps []stamp    // of files, as last loaded
}

// stamp is what Check compares to notice a changed file: a replaced file
// (an atomic rename, a Kubernetes secret's symlink swap) has another inode,
// a rewritten one another size or modification time.
type stamp struct {
	size  int64
	mod   time.Time
	inode uint64
	dev   uint64
}

func stampOf(path string) (stamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}, err
	}
	s := stamp{size: fi.Size(), mod: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.inode, s.dev = uint64(st.Ino), uint64(st.Dev)
	}
	return s, nil
}

// New loads the certificate (chain) and key, and the client CA bundle if
// o.ClientCA is set; it fails if they do not load.
func New(certFile, keyFile string, o Options) (*Reloader, error) {
	r := &Reloader{files: []string{certFile, keyFile}, interval: o.Interval, log: o.Log}
	if o.ClientCA != "" {
		r.files = append(r.files, o.ClientCA)
	}
	if r.interval <= 0 {
		r.interval = DefaultInterval
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.base = &tls.Config{MinVersion: tls.VersionTLS12}
	if o.ClientCA != "" {
		r.base.ClientAuth = tls.RequireAndVerifyClientCert
	}
	stamps, err := r.stampAll()
	if err != nil {
		return nil, err
	}
	if err := r.load(); err != nil {
		return nil, err
	}
	r.stamps = stamps
	return r, nil
}

// Config is the configuration to serve with (tls.NewListener): each
// handshake takes the files' contents as last loaded.
func (r *Reloader) Config() *tls.Config {
	c := r.base.Clone()
	c.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return r.cur.Load(), nil }
	// Unused by handshakes (GetConfigForClient answers), but it makes the
	// configuration valid on its own, e.g. for http.Server.ServeTLS.
	c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return &r.cur.Load().Certificates[0], nil
	}
	return c
}

func (r *Reloader) stampAll() ([]stamp, error) {
	var out []stamp
	for _, f := range r.files {
		s, err := stampOf(f)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// load reads every file and, if all load, makes them the configuration.
func (r *Reloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.files[0], r.files[1])
	if err != nil {
		return fmt.Errorf("tls: %s and %s: %w", r.files[0], r.files[1], err)
	}
	c := r.base.Clone()
	c.Certificates = []tls.Certificate{cert}
	if len(r.files) > 2 {
		pem, err := os.ReadFile(r.files[2])
		if err != nil {
			return fmt.Errorf("tls: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("tls: client CA %s: no PEM certificate in it", r.files[2])
		}
		c.ClientCAs = pool
	}
	r.cur.Store(c)
	return nil
}

// Check loads the files again if any of them changed since they were last
// loaded, and reports whether it did. On an error the configuration stays as
// it was and the next Check tries again.
func (r *Reloader) Check() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamps, err := r.stampAll()
	if err != nil {
		return false, err
	}
	if slices.Equal(stamps, r.stamps) {
		return false, nil
	}
	if err := r.load(); err != nil {
		return false, err
	}
	r.stamps = stamps
	return true, nil
}

// Run checks the files every Interval until ctx ends, logging reloads and
// failures (once per failure, not at every check). It returns ctx's error.
func (r *Reloader) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	var failing error
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		changed, err := r.Check()
		switch {
		case err != nil && (failing == nil || failing.Error() != err.Error()):
			r.log.Error("TLS files changed but do not load; serving the previous certificate", "err", err)
		case err == nil && changed:
			r.log.Info("TLS certificate reloaded", "cert", r.files[0], "expires", r.expiry())
		case err == nil && failing != nil:
			r.log.Info("TLS files are as they were when last loaded; serving that certificate", "cert", r.files[0])
		}
		failing = err
	}
}

// expiry is when the served certificate expires.
func (r *Reloader) expiry() time.Time {
	leaf, err := x509.ParseCertificate(r.cur.Load().Certificates[0].Certificate[0])
	if err != nil {
		return time.Time{}
	}
	return leaf.NotAfter
}
