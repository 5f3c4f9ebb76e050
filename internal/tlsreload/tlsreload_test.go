package tlsreload

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ca is a certificate authority that issues test certificates.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate with the given serial and its PEM key:
// for 127.0.0.1 as a server, or as a client.
func (c *ca) issue(t *testing.T, serial int64, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "trent test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if client {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// replace writes a file the way renewal tools do: a new file renamed over
// the old one.
func replace(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// serveTLS accepts TLS connections with cfg on a loopback port and answers
// each with one byte, until the test ends.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(l, cfg)
	t.Cleanup(func() { tl.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err == nil {
					c.Write([]byte{1})
				}
			}()
		}
	}()
	return l.Addr().String()
}

// dial makes a real handshake and returns the serial of the server's
// certificate; it fails when the server refuses the handshake.
func dial(addr string, roots *x509.CertPool, client *tls.Certificate) (int64, error) {
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	// With TLS 1.3 the server checks the client's certificate after the
	// client's handshake is done: its refusal arrives on the first read.
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, err
	}
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A renewed certificate is served from the next handshake on, without a
// restart; a renewal that does not load leaves the previous one serving.
func TestCertificateReloads(t *testing.T) {
	dir := t.TempDir()
	authority := newCA(t, "server CA")
	roots := x509.NewCertPool()
	roots.AddCert(authority.cert)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	c1, k1 := authority.issue(t, 1, false)
	replace(t, certFile, c1)
	replace(t, keyFile, k1)
	r, err := New(certFile, keyFile, Options{Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, r.Config())
	if serial, err := dial(addr, roots, nil); err != nil || serial != 1 {
		t.Fatalf("first handshake: serial %d, %v", serial, err)
	}
	if changed, err := r.Check(); changed || err != nil {
		t.Fatalf("Check of unchanged files = %v, %v", changed, err)
	}

	c2, k2 := authority.issue(t, 2, false)
	replace(t, certFile, c2)
	// The certificate is renewed but its key is not there yet.
	if changed, err := r.Check(); changed || err == nil {
		t.Fatalf("Check of a certificate without its key = %v, %v; want an error", changed, err)
	}
	if serial, err := dial(addr, roots, nil); err != nil || serial != 1 {
		t.Fatalf("during a half-done renewal: serial %d, %v; want the previous certificate", serial, err)
	}
	replace(t, keyFile, k2)
	if changed, err := r.Check(); !changed || err != nil {
		t.Fatalf("Check of the renewed pair = %v, %v", changed, err)
	}
	if serial, err := dial(addr, roots, nil); err != nil || serial != 2 {
		t.Fatalf("after the renewal: serial %d, %v; want 2", serial, err)
	}

	// Run notices changes by itself.
	r.interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	c3, k3 := authority.issue(t, 3, false)
	replace(t, keyFile, k3)
	replace(t, certFile, c3)
	deadline := time.Now().Add(30 * time.Second)
	for {
		serial, err := dial(addr, roots, nil)
		if err != nil {
			t.Fatal(err)
		}
		if serial == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not reload the renewed certificate within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
}

// With a client CA the listener refuses clients without a certificate, or
// with one from another CA; the CA bundle reloads like the certificate.
func TestClientCertificates(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := newCA(t, "server CA"), newCA(t, "client CA"), newCA(t, "other CA")
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	certFile, keyFile, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "clients.pem")
	c, k := serverCA.issue(t, 1, false)
	replace(t, certFile, c)
	replace(t, keyFile, k)
	replace(t, caFile, clientCA.pem)
	r, err := New(certFile, keyFile, Options{ClientCA: caFile, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, r.Config())
	pair := func(a *ca, serial int64) *tls.Certificate {
		cp, kp := a.issue(t, serial, true)
		cert, err := tls.X509KeyPair(cp, kp)
		if err != nil {
			t.Fatal(err)
		}
		return &cert
	}
	good, foreign := pair(clientCA, 10), pair(otherCA, 11)
	if _, err := dial(addr, roots, good); err != nil {
		t.Fatalf("a client with a certificate of the client CA: %v", err)
	}
	if _, err := dial(addr, roots, nil); err == nil {
		t.Fatal("a client without a certificate got through")
	}
	if _, err := dial(addr, roots, foreign); err == nil {
		t.Fatal("a client with a certificate of another CA got through")
	}

	// The bundle now trusts the other CA only.
	replace(t, caFile, otherCA.pem)
	if changed, err := r.Check(); !changed || err != nil {
		t.Fatalf("Check of a new CA bundle = %v, %v", changed, err)
	}
	if _, err := dial(addr, roots, foreign); err != nil {
		t.Fatalf("a client of the newly trusted CA: %v", err)
	}
	if _, err := dial(addr, roots, good); err == nil {
		t.Fatal("a client of the CA no longer trusted got through")
	}
	// A bundle with no certificate is refused and changes nothing.
	replace(t, caFile, []byte("not PEM"))
	if _, err := r.Check(); err == nil {
		t.Fatal("a CA bundle without a certificate loaded")
	}
	if _, err := dial(addr, roots, foreign); err != nil {
		t.Fatalf("after a bad CA bundle: %v", err)
	}
}

func TestNewRefusesFilesThatDoNotLoad(t *testing.T) {
	dir := t.TempDir()
	a := newCA(t, "CA")
	c, k := a.issue(t, 1, false)
	_, otherKey := a.issue(t, 2, false)
	certFile, keyFile := filepath.Join(dir, "c"), filepath.Join(dir, "k")
	replace(t, certFile, c)
	replace(t, keyFile, otherKey)
	if _, err := New(certFile, keyFile, Options{}); err == nil {
		t.Fatal("New accepted a key that is not the certificate's")
	}
	replace(t, keyFile, k)
	if _, err := New(certFile, keyFile, Options{ClientCA: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("New accepted a missing client CA")
	}
}
