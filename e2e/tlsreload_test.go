package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
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
	return &testCA{cert: cert, key: key}
}

func (c *testCA) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

// issue makes a server certificate for 127.0.0.1 (or a client certificate)
// with the given serial, as PEM.
func (c *testCA) issue(t *testing.T, serial int64, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "trent e2e"},
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

func writeAtomically(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// A node with --tls-client-ca serves only clients with a certificate of
// that CA, and serves a renewed certificate without a restart.
func TestTLSReloadAndClientCertificates(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA")
	certFile, keyFile, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "clients.pem")
	c1, k1 := serverCA.issue(t, 1, false)
	writeAtomically(t, certFile, c1)
	writeAtomically(t, keyFile, k1)
	writeAtomically(t, caFile, clientCA.pem())
	srv := testserver.Start(t, testserver.Options{Env: []string{
		"TRENT_TLS_CERT=" + certFile, "TRENT_TLS_KEY=" + keyFile, "TRENT_TLS_CLIENT_CA=" + caFile,
	}})
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	cp, kp := clientCA.issue(t, 10, true)
	clientCert, err := tls.X509KeyPair(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	client := func(cert *tls.Certificate) *kms.Client {
		tc := &tls.Config{RootCAs: roots}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		cfg := srv.Config("")
		// A fresh connection per request: each request is a handshake.
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}
		return kms.NewFromConfig(cfg)
	}
	ctx := testserver.Context(t)
	with, without := client(&clientCert), client(nil)
	if _, err := with.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("a client with a certificate of the client CA: %v", err)
	}
	if _, err := without.ListKeys(ctx, &kms.ListKeysInput{}); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	// Why it failed, read where it is certain to show: in TLS 1.3 the server
	// checks the client's certificate after the client has finished its side
	// of the handshake, so a client that writes at once may see its write
	// fail (a broken pipe) before the server's alert arrives. A client that
	// reads first always reads the alert.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(srv.URL, "https://"), &tls.Config{RootCAs: roots})
	if err == nil {
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("a client without a certificate: %v, want the handshake refused", err)
	}

	// Renew the server certificate in place; the running node serves it.
	c2, k2 := serverCA.issue(t, 2, false)
	writeAtomically(t, keyFile, k2)
	writeAtomically(t, certFile, c2)
	served := func() int64 {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(srv.URL, "https://"), &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	untilTrue(t, "the renewed certificate is served", func() bool { return served() == 2 })
	if _, err := with.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("after the renewal: %v", err)
	}
}
