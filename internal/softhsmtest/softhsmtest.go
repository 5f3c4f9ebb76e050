// Package softhsmtest makes SoftHSM2 tokens for tests: the PKCS#11 token
// that stands in for an HSM in the tests of the pkcs11 seal
// (internal/seal/hsm), of custom key stores (internal/keystore/pkcs11) and
// end to end. Each call makes its own tokens in a temporary directory, so
// tests share no token state.
//
// scripts/test.sh installs SoftHSM2 (Debian's softhsm2); without it a test
// skips, or fails under CI (internal/testenv).
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

// Module is the SoftHSM2 PKCS#11 module where Debian's softhsm2 installs
// it.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Token is a token to initialise: its label and the user PIN.
type Token struct {
	Label, PIN string
}

// Init initialises tokens in a SoftHSM2 configuration of their own in a
// temporary directory of t and returns the configuration file's path, the
// value SOFTHSM2_CONF must have when the module is initialised.
func Init(t testing.TB, tokens ...Token) (conf string) {
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
	for _, tok := range tokens {
		cmd := exec.Command(util, "--init-token", "--free", "--label", tok.Label, "--so-pin", "so-secret", "--pin", tok.PIN)
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("softhsm2-util: %v: %s", err, out)
		}
	}
	return conf
}

// Setenv initialises tokens as Init does and points this process's
// SOFTHSM2_CONF at them for the rest of t (so t must not be parallel), for
// tests that load the module themselves.
func Setenv(t *testing.T, tokens ...Token) {
	t.Helper()
	t.Setenv("SOFTHSM2_CONF", Init(t, tokens...))
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
