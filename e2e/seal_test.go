package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/seal/awskms"
	"github.com/trentkms/trent/internal/seal/hsm"
	"github.com/trentkms/trent/internal/softhsmtest"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/testserver"
)

const (
	passphrase = "correct horse battery staple"
	// cheapCost keeps Argon2id fast on a shared test machine; the
	// parameters are recorded, so every later unseal uses them.
	cheapCost = "time=1,memory-mib=8,threads=1"
)

// secretsOf are what must never be on disk in plaintext: key material the
// test imported (so it knows the bytes), and the root key.
type secretsOf struct {
	material  [][]byte
	other     [][]byte
	blobs     [][]byte // ciphertexts made before, to decrypt after
	plaintext []byte
}

// passphraseSealEnv puts a server on the passphrase seal, reading the
// passphrase from the environment, with Argon2id made cheap for tests.
var passphraseSealEnv = []string{"TRENT_SEAL=passphrase:env," + cheapCost, "TRENT_SEAL_PASSPHRASE=" + passphrase}

// secretsBefore is what TestBackupUnderLoadAndRestore and the root key
// rotations make before they act: importKnown's key, and n more keys of
// KMS's material with a ciphertext of s.plaintext each.
func secretsBefore(t *testing.T, c *kms.Client, s *secretsOf, n int) {
	t.Helper()
	importKnown(t, c, s)
	ctx := testserver.Context(t)
	for range n {
		md := newKey(t, c, nil)
		enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: s.plaintext})
		if err != nil {
			t.Fatal(err)
		}
		s.blobs = append(s.blobs, enc.CiphertextBlob)
	}
}

// inStore runs f on the stopped server's bolt store in dir, closing it
// after, so that the server can start on it again.
func inStore(t *testing.T, dir string, f func(st *bolt.DB)) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f(st)
}

// importKnown makes a key with imported material the test knows, and a
// ciphertext under it.
func importKnown(t *testing.T, c *kms.Client, s *secretsOf) {
	t.Helper()
	ctx := testserver.Context(t)
	md := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	p := importParams(t, c, md.KeyId, types.AlgorithmSpecRsaesOaepSha256)
	material := make([]byte, 32)
	rand.Read(material)
	wrapped, err := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAESOAEPSHA256, material)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: md.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire}); err != nil {
		t.Fatal(err)
	}
	s.material = append(s.material, material)
	s.plaintext = []byte("made before the restart")
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: s.plaintext})
	if err != nil {
		t.Fatal(err)
	}
	s.blobs = append(s.blobs, enc.CiphertextBlob)
}

// decryptAll decrypts every ciphertext in s.
func decryptAll(t *testing.T, c *kms.Client, s *secretsOf) {
	t.Helper()
	for _, b := range s.blobs {
		d, err := c.Decrypt(testserver.Context(t), &kms.DecryptInput{CiphertextBlob: b})
		if err != nil || !bytes.Equal(d.Plaintext, s.plaintext) {
			t.Fatalf("Decrypt of a ciphertext made before = %v", err)
		}
	}
}

// assertNotOnDisk fails if a file under each dir holds one of the secrets,
// raw, in base64 or in hex.
func assertNotOnDisk(t *testing.T, secrets [][]byte, dirs ...string) {
	t.Helper()
	files := 0
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files++
			for _, s := range secrets {
				for _, form := range [][]byte{s, []byte(base64.StdEncoding.EncodeToString(s)), []byte(base64.RawStdEncoding.EncodeToString(s)), []byte(hex.EncodeToString(s))} {
					if bytes.Contains(b, form) {
						t.Errorf("%s holds a secret (%d bytes) in plaintext", path, len(s))
					}
				}
			}
			return nil
		})
	}
	if files == 0 {
		t.Fatal("no file to scan")
	}
}

// records is every record of the stopped server's bolt store, as text.
func records(t *testing.T, dir string) (out string) {
	t.Helper()
	inStore(t, dir, func(st *bolt.DB) {
		kvs, rev, err := st.Range(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		out = fmt.Sprint(rev, kvs)
	})
	return out
}

// rootKeyOf unwraps the root key of the stopped server's bolt store with w.
func rootKeyOf(t *testing.T, dir string, w seal.Wrapper) (k []byte) {
	t.Helper()
	defer w.Close()
	inStore(t, dir, func(st *bolt.DB) {
		var err error
		if k, err = seal.UnwrapRoot(context.Background(), st, w); err != nil {
			t.Fatal(err)
		}
	})
	return k
}

func passSeal(t *testing.T) seal.Wrapper {
	w, err := seal.NewPassphraseSeal([]byte(passphrase), seal.Argon2{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// trent runs a trent subcommand and returns its combined output.
func trent(t *testing.T, stdin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// wantSealed checks the answer of a sealed node: a KMSInternalException with
// HTTP status 503, which the SDKs retry, saying the node is sealed.
func wantSealed(t *testing.T, c *kms.Client) {
	t.Helper()
	_, err := c.ListKeys(testserver.Context(t), &kms.ListKeysInput{})
	var ie *types.KMSInternalException
	var re *awshttp.ResponseError
	if !errors.As(err, &ie) || !strings.Contains(ie.ErrorMessage(), "sealed") || !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
		t.Fatalf("a sealed node answered %v, want a 503 KMSInternalException saying it is sealed", err)
	}
}

// The passphrase seal: a node without its passphrase starts sealed, answers
// a retryable "sealed" error, refuses a wrong passphrase from trent unseal
// and stays sealed, and serves once given the right one; a passphrase from
// standard input or the environment unseals at start; neither the root key
// nor imported key material nor the passphrase is ever on disk.
func TestPassphraseSeal(t *testing.T) {
	dir := t.TempDir()
	sealEnv := "TRENT_SEAL=passphrase:" + cheapCost
	srv := testserver.Start(t, testserver.Options{DataDir: dir, Env: []string{sealEnv, "TRENT_METRICS_LISTEN=127.0.0.1:0"}, Sealed: true})
	c := kms.NewFromConfig(srv.Config(""))
	wantSealed(t, c)
	readyURL := strings.TrimSuffix(srv.MetricsURL, "/metrics") + "/ready"
	if code := httpStatus(t, readyURL); code != http.StatusServiceUnavailable {
		t.Fatalf("GET /ready of a sealed node = %d, want 503", code)
	}
	out, err := trent(t, "", nil, "seal", "status", "--data-dir", dir)
	if err != nil || !strings.Contains(out, `"Sealed": true`) || !strings.Contains(out, `"Initialized": false`) {
		t.Fatalf("seal status = %v\n%s", err, out)
	}
	// The first unseal of an empty store chooses the passphrase.
	if out, err := trent(t, passphrase+"\n", nil, "unseal", "--data-dir", dir); err != nil {
		t.Fatalf("unseal: %v\n%s", err, out)
	}
	srv.WaitServing(t)
	if code := httpStatus(t, readyURL); code != http.StatusOK {
		t.Fatalf("GET /ready of an unsealed node = %d, want 200", code)
	}
	var s secretsOf
	importKnown(t, c, &s)
	srv.Stop(t)

	srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: []string{sealEnv}, Sealed: true})
	c = kms.NewFromConfig(srv.Config(""))
	out, err = trent(t, "incorrect horse battery staple\n", nil, "unseal", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "wrong passphrase") {
		t.Fatalf("unseal with a wrong passphrase: %v\n%s", err, out)
	}
	wantSealed(t, c)
	if out, err := trent(t, passphrase+"\n", nil, "unseal", "--data-dir", dir); err != nil {
		t.Fatalf("unseal: %v\n%s", err, out)
	}
	srv.WaitServing(t)
	decryptAll(t, c, &s)
	if out, _ := trent(t, passphrase+"\n", nil, "unseal", "--data-dir", dir); !strings.Contains(out, "unsealed already") {
		t.Fatalf("unseal of an unsealed node: %s", out)
	}
	srv.Stop(t)

	srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: []string{"TRENT_SEAL=passphrase:stdin"}, Stdin: strings.NewReader(passphrase + "\n")})
	decryptAll(t, kms.NewFromConfig(srv.Config("")), &s)
	srv.Stop(t)

	bad := exec.Command(testserver.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--seal", "passphrase:env")
	bad.Env = append(os.Environ(), "TRENT_SEAL_PASSPHRASE=incorrect horse battery staple")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "wrong passphrase") {
		t.Fatalf("serve with a wrong passphrase in the environment: %v\n%s", err, out)
	}
	srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: []string{"TRENT_SEAL=passphrase:env", "TRENT_SEAL_PASSPHRASE=" + passphrase}})
	decryptAll(t, kms.NewFromConfig(srv.Config("")), &s)
	srv.Stop(t)

	assertNotOnDisk(t, append(s.material, rootKeyOf(t, dir, passSeal(t)), []byte(passphrase)), dir)
}

// The file seal moves to the passphrase seal with trent seal migrate; the
// key file then no longer opens the store, every key still decrypts, and a
// wrong old seal changes nothing.
func TestSealMigrateFileToPassphrase(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	if !strings.Contains(srv.Stderr(), "the file seal is for development") {
		t.Fatalf("the file seal started without its warning:\n%s", srv.Stderr())
	}
	var s secretsOf
	importKnown(t, kms.NewFromConfig(srv.Config("")), &s)
	srv.Stop(t)
	before := records(t, dir)

	env := []string{"TRENT_SEAL_PASSPHRASE=" + passphrase}
	out, err := trent(t, "another long passphrase\n", env, "seal", "migrate", "--data-dir", dir, "--from", "passphrase:env", "--to", "passphrase:stdin,"+cheapCost)
	if err == nil || !strings.Contains(out, "wrapped by the file seal, not the passphrase seal") {
		t.Fatalf("migrate from a seal the store does not have: %v\n%s", err, out)
	}
	if after := records(t, dir); after != before {
		t.Fatal("a refused migration changed the store")
	}
	out, err = trent(t, "", env, "seal", "migrate", "--data-dir", dir, "--from", "file", "--to", "passphrase:env,"+cheapCost)
	if err != nil || !strings.Contains(out, "now wrapped by the passphrase seal") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	fileKey, err := os.ReadFile(filepath.Join(dir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	bad := exec.Command(testserver.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "wrapped by the passphrase seal, and this node is configured with the file seal") {
		t.Fatalf("serve with the file seal after migrating away: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(dir, "root.key"))
	srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: append(env, "TRENT_SEAL=passphrase:env")})
	decryptAll(t, kms.NewFromConfig(srv.Config("")), &s)
	srv.Stop(t)
	assertNotOnDisk(t, append(s.material, rootKeyOf(t, dir, passSeal(t)), fileKey), dir)
}

// The kms seal, Trent on Trent: node B's root key is wrapped by a key in
// Trent A, reached with the SDK's credential chain (here the environment);
// B unseals itself at every start, refuses to start when A is unreachable,
// and its root key is on no disk.
func TestKMSSealTrentOnTrent(t *testing.T) {
	a := testserver.Start(t, testserver.Options{})
	ka := kms.NewFromConfig(a.Config(""))
	wrapping := newKey(t, ka, nil)
	sdkEnv := []string{
		"AWS_ACCESS_KEY_ID=" + testserver.AccessKey, "AWS_SECRET_ACCESS_KEY=" + testserver.SecretKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
	}
	kmsSeal := "kms:key=" + *wrapping.Arn + ",endpoint=" + a.URL + ",region=us-east-1"
	dir := t.TempDir()
	b := testserver.Start(t, testserver.Options{DataDir: dir, Env: append(sdkEnv, "TRENT_SEAL="+kmsSeal)})
	var s secretsOf
	importKnown(t, kms.NewFromConfig(b.Config("")), &s)
	b.Stop(t)
	b = testserver.Start(t, testserver.Options{DataDir: dir, Env: append(sdkEnv, "TRENT_SEAL="+kmsSeal)})
	decryptAll(t, kms.NewFromConfig(b.Config("")), &s)
	b.Stop(t)

	// The wrapping key disabled: A refuses to decrypt, and B says so.
	ctx := testserver.Context(t)
	if _, err := ka.DisableKey(ctx, &kms.DisableKeyInput{KeyId: wrapping.KeyId}); err != nil {
		t.Fatal(err)
	}
	bad := exec.Command(testserver.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--seal", kmsSeal)
	bad.Env = append(os.Environ(), sdkEnv...)
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "DisabledException") {
		t.Fatalf("serve with a disabled wrapping key: %v\n%s", err, out)
	}
	if _, err := ka.EnableKey(ctx, &kms.EnableKeyInput{KeyId: wrapping.KeyId}); err != nil {
		t.Fatal(err)
	}
	cfg := a.Config("")
	root, err := awskms.New(ctx, awskms.Config{KeyID: *wrapping.Arn, Endpoint: a.URL, AWS: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	rootKey := rootKeyOf(t, dir, root)

	a.Stop(t)
	bad = exec.Command(testserver.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--seal", kmsSeal)
	bad.Env = append(os.Environ(), sdkEnv...)
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "cannot reach "+a.URL) {
		t.Fatalf("serve with the unseal KMS unreachable: %v\n%s", err, out)
	}
	assertNotOnDisk(t, append(s.material, rootKey), dir)
}

// The pkcs11 seal with SoftHSM2: the root key is wrapped by a key the token
// will not export; a wrong PIN stops the node with the reason.
func TestPKCS11Seal(t *testing.T) {
	conf := softhsmtest.Init(t, softhsmtest.Token{Label: "trent-seal", PIN: "seal-pin-1234"})
	env := []string{"SOFTHSM2_CONF=" + conf, "TRENT_SEAL=pkcs11:module=" + softHSMModule + ",token=trent-seal"}
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir, Env: append(env, "TRENT_SEAL_PIN=seal-pin-1234")})
	var s secretsOf
	importKnown(t, kms.NewFromConfig(srv.Config("")), &s)
	srv.Stop(t)

	bad := exec.Command(testserver.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
	bad.Env = append(os.Environ(), append(env, "TRENT_SEAL_PIN=wrong-pin")...)
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), `token "trent-seal" refused the PIN`) {
		t.Fatalf("serve with a wrong PIN: %v\n%s", err, out)
	}
	srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: append(env, "TRENT_SEAL_PIN=seal-pin-1234")})
	decryptAll(t, kms.NewFromConfig(srv.Config("")), &s)
	srv.Stop(t)

	t.Setenv("SOFTHSM2_CONF", conf)
	w, err := hsm.New(hsm.Config{Module: softHSMModule, Token: "trent-seal", PIN: "seal-pin-1234"})
	if err != nil {
		t.Fatal(err)
	}
	assertNotOnDisk(t, append(s.material, rootKeyOf(t, dir, w)), dir, filepath.Dir(conf))
}
