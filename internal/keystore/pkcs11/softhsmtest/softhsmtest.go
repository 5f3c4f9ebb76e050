// Package softhsmtest initialises SoftHSM2 tokens for tests: the PKCS#11
// tokens that stand in for the CloudHSM clusters of custom key stores in
// package keystore/pkcs11's tests, customkeystore's and e2e's.
//
// A machine without SoftHSM2 (softhsm2-util and the module) makes the test
// skip, or fail under CI (testenv.Missing): scripts/test.sh installs it.
package softhsmtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/testenv"
)

// Module is the path of SoftHSM2's PKCS#11 module.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Tokens initialises one token per label, all with the user PIN pin, in a
// temporary directory, and returns the configuration file that names that
// directory: SoftHSM2 reads it from SOFTHSM2_CONF when its module is
// initialised.
func Tokens(t testing.TB, pin string, labels ...string) (conf string) {
	t.Helper()
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		testenv.Missing(t, "softhsm2 is not installed (apt-get install softhsm2; scripts/test.sh does): %v", err)
	}
	if _, err := os.Stat(Module); err != nil {
		testenv.Missing(t, "softhsm2 is not installed: %v", err)
	}
	dir := t.TempDir()
	tokenDir := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokenDir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf = filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokenDir+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, label := range labels {
		cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--so-pin", "so-secret", "--pin", pin)
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("softhsm2-util: %v: %s", err, out)
		}
	}
	return conf
}

// TrustAnchor is a self-signed PEM certificate, standing in for a
// cluster's trust anchor (CreateCustomKeyStore's TrustAnchorCertificate).
func TrustAnchor(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "trent test cluster"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
