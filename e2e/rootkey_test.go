package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/seal/awskms"
	"github.com/trentkms/trent/internal/seal/hsm"
	"github.com/trentkms/trent/internal/softhsmtest"
	"github.com/trentkms/trent/internal/store/bolt"
	"github.com/trentkms/trent/internal/store/etcd/etcdtest"
	"github.com/trentkms/trent/internal/testserver"
)

// rootkeyStatus is trent rootkey status --json.
type rootkeyStatus struct {
	Seal     string
	Versions []struct {
		Version uint32
		Records int64
		Held    bool
	}
	Rotation *struct {
		Target    uint32
		Pass      int
		Rewrapped int64
	}
	Unversioned int64
}

func rootkeyStatusOf(t *testing.T, dir string) rootkeyStatus {
	t.Helper()
	out, err := trent(t, "", nil, "rootkey", "status", "--json", "--data-dir", dir)
	if err != nil {
		t.Fatalf("rootkey status: %v\n%s", err, out)
	}
	var st rootkeyStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("rootkey status: %v\n%s", err, out)
	}
	return st
}

// versions is the status's versions and record counts, as "v:records ...".
func (st rootkeyStatus) versions() string {
	var s []string
	for _, v := range st.Versions {
		s = append(s, fmt.Sprintf("%d:%d", v.Version, v.Records))
	}
	return strings.Join(s, " ")
}

// keyringOf unwraps every root key version of the stopped server's bolt
// store with w.
func keyringOf(t *testing.T, dir string, w seal.Wrapper) (ks [][]byte) {
	t.Helper()
	defer w.Close()
	inStore(t, dir, func(st *bolt.DB) {
		var err error
		if ks, err = seal.UnwrapKeyring(context.Background(), st, w); err != nil {
			t.Fatal(err)
		}
	})
	return ks
}

// encryptLoad makes keys (with tags) and ciphertexts of plaintext under
// them until stop is closed, counting them in made, and returns a function
// that waits for the load to end and gives the ciphertexts. It returns once
// the load runs: three keys made and used.
func encryptLoad(t *testing.T, c *kms.Client, plaintext []byte, stop chan struct{}, made *atomic.Int64, tags ...types.Tag) func() [][]byte {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		blobs [][]byte
	)
	ctx := testserver.Context(t)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				k, err := c.CreateKey(ctx, &kms.CreateKeyInput{Tags: tags})
				if err != nil {
					t.Errorf("CreateKey under load: %v", err)
					return
				}
				enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: plaintext})
				if err != nil {
					t.Errorf("Encrypt under load: %v", err)
					return
				}
				mu.Lock()
				blobs = append(blobs, enc.CiphertextBlob)
				mu.Unlock()
				made.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for made.Load() < 3 {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatal("the write load does not run")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return func() [][]byte { wg.Wait(); return blobs }
}

// A rotation of the root key on a live server under write load through the
// SDK: every ciphertext made before and during it decrypts after it and
// after a restart; the root access key and temporary credentials (sealed
// secrets too) keep working; a wrong passphrase starts nothing; status shows
// the versions and what each seals; and neither root key version, nor the
// imported key material, nor the passphrase is on disk.
func TestRootKeyRotateUnderLoad(t *testing.T) {
	sealEnv := passphraseSealEnv
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir, Env: sealEnv})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	var s secretsOf
	secretsBefore(t, c, &s, 5)
	// An import token made before the rotation: the version that sealed it
	// is retired with --retire-now, and it is refused after.
	pending := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternal})
	srv.Stop(t)
	oldRoot := rootKeyOf(t, dir, passSeal(t))

	srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: sealEnv})
	c = kms.NewFromConfig(srv.Config(""))
	stsc := sts.NewFromConfig(srv.Config(""))
	sess, err := stsc.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(3600)})
	if err != nil {
		t.Fatal(err)
	}
	oldToken := importParams(t, c, pending.KeyId, types.AlgorithmSpecRsaesOaepSha256)
	before := rootkeyStatusOf(t, dir)
	if before.Seal != "passphrase" || len(before.Versions) != 1 || before.Versions[0].Version != 1 || before.Versions[0].Records < 10 || before.Rotation != nil || before.Unversioned != 0 {
		t.Fatalf("status before = %+v", before)
	}

	// A wrong passphrase starts no rotation.
	out, err := trent(t, "", []string{"TRENT_SEAL_PASSPHRASE=incorrect horse battery staple"}, "rootkey", "rotate", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "wrong passphrase") {
		t.Fatalf("rotate with a wrong passphrase: %v\n%s", err, out)
	}
	if st := rootkeyStatusOf(t, dir); st.versions() != before.versions() || st.Rotation != nil {
		t.Fatalf("a refused rotation changed the keyring: %+v", st)
	}

	stop := make(chan struct{})
	var made atomic.Int64
	wait := encryptLoad(t, c, s.plaintext, stop, &made)
	atStart := made.Load()
	out, err = trent(t, "", []string{"TRENT_SEAL_PASSPHRASE=" + passphrase}, "rootkey", "rotate", "--data-dir", dir, "--batch", "5", "--retire-now")
	during := made.Load()
	close(stop)
	s.blobs = append(s.blobs, wait()...)
	if err != nil || !strings.Contains(out, "Root key version 2 seals every record") || !strings.Contains(out, "Retired version(s) 1.") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	if during == atStart {
		t.Fatal("no request was served while the rotation ran")
	}
	t.Logf("%d keys made and used during the rotation", during-atStart)

	after := rootkeyStatusOf(t, dir)
	if len(after.Versions) != 1 || after.Versions[0].Version != 2 || after.Versions[0].Records < before.Versions[0].Records || !after.Versions[0].Held || after.Rotation != nil {
		t.Fatalf("status after = %+v", after)
	}
	decryptAll(t, c, &s)
	sc := kms.NewFromConfig(srv.ConfigFor("", *sess.Credentials.AccessKeyId, *sess.Credentials.SecretAccessKey, *sess.Credentials.SessionToken))
	if _, err := sc.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("temporary credentials made before the rotation: %v", err)
	}
	// The import token sealed under the retired version is refused; a new
	// one works.
	material := make([]byte, 32)
	rand.Read(material)
	importWith := func(p *kms.GetParametersForImportOutput) error {
		wrapped, err := keys.Wrap(rand.Reader, p.PublicKey, keys.WrapRSAESOAEPSHA256, material)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ImportKeyMaterial(ctx, &kms.ImportKeyMaterialInput{KeyId: pending.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: types.ExpirationModelTypeKeyMaterialDoesNotExpire})
		return err
	}
	var invalid *types.InvalidImportTokenException
	if err := importWith(oldToken); !errors.As(err, &invalid) {
		t.Fatalf("an import token of the retired version: %v", err)
	}
	if err := importWith(importParams(t, c, pending.KeyId, types.AlgorithmSpecRsaesOaepSha256)); err != nil {
		t.Fatalf("an import token of the new version: %v", err)
	}
	s.material = append(s.material, material)
	srv.Stop(t)

	srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: sealEnv})
	c = kms.NewFromConfig(srv.Config(""))
	decryptAll(t, c, &s)
	sc = kms.NewFromConfig(srv.ConfigFor("", *sess.Credentials.AccessKeyId, *sess.Credentials.SecretAccessKey, *sess.Credentials.SessionToken))
	if _, err := sc.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("temporary credentials after the restart: %v", err)
	}
	srv.Stop(t)

	secrets := append(s.material, oldRoot, []byte(passphrase))
	secrets = append(secrets, keyringOf(t, dir, passSeal(t))...)
	if len(secrets) != len(s.material)+3 {
		t.Fatalf("the keyring holds %d versions after retirement", len(secrets)-len(s.material)-2)
	}
	if bytes.Equal(secrets[len(secrets)-1], oldRoot) {
		t.Fatal("the rotation kept the root key")
	}
	assertNotOnDisk(t, secrets, dir)
}

// kill -9 of the node in the middle of a rotation: the store is consistent
// (records under both versions, every ciphertext decrypts after the
// restart, status shows the rotation under way), and trent rootkey rotate
// run again resumes it and finishes.
func TestRootKeyRotateKill9Resume(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	s := secretsOf{plaintext: []byte("made before the rotation")}
	for i := range 120 {
		md := newKey(t, c, nil)
		if i%10 == 0 {
			enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: s.plaintext})
			if err != nil {
				t.Fatal(err)
			}
			s.blobs = append(s.blobs, enc.CiphertextBlob)
		}
	}
	total := rootkeyStatusOf(t, dir).Versions[0].Records

	// One record a transaction, each fsynced: the node is killed after the
	// first progress report, long before the last record.
	cmd := exec.Command(testserver.Binary(t), "rootkey", "rotate", "--data-dir", dir, "--batch", "1", "--retire-now")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	for {
		if !lines.Scan() {
			t.Fatalf("rotate ended before rewrapping: %s", stderr.String())
		}
		// "version 2: rewrapping, N records rewrapped", or, when the
		// rewrap outran the progress reports (at most ten a second), a
		// verification pass: killed then, the rotation must resume too.
		var n int
		line := lines.Text()
		_, err := fmt.Sscanf(line, "version 2: rewrapping, %d records rewrapped", &n)
		if err != nil {
			var pass int
			if _, err2 := fmt.Sscanf(line, "version 2: verification pass %d, %d records rewrapped", &pass, &n); err2 != nil {
				t.Fatalf("rotate said %q; %s", line, stderr.String())
			}
		}
		// Kill at the first report: later ones come at most ten a second,
		// and the group-committed rewrap of the remaining records can
		// finish in less.
		if n >= 1 {
			break
		}
	}
	srv.Kill()
	for lines.Scan() {
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(stderr.String(), "run trent rootkey rotate again") {
		t.Fatalf("rotate of a killed node: %v\n%s", err, stderr.String())
	}

	srv = testserver.Start(t, testserver.Options{DataDir: dir})
	c = kms.NewFromConfig(srv.Config(""))
	mid := rootkeyStatusOf(t, dir)
	if mid.Rotation == nil || mid.Rotation.Target != 2 || len(mid.Versions) != 2 {
		t.Fatalf("status after kill -9 = %+v", mid)
	}
	// Where the kill lands depends on the machine: on a fast disk the
	// group-committed rewrap of these records can end before the first
	// progress report is read, and the kill then lands in a verification
	// pass. Either way a rotation is under way and must resume; the rewrap
	// itself resuming is tested in internal/seal (TestRotateResumes).
	if mid.Versions[0].Records == 0 {
		t.Fatalf("after kill -9 nothing was rewrapped: %s", mid.versions())
	}
	t.Logf("killed with %s", mid.versions())
	decryptAll(t, c, &s)
	out, err := trent(t, "", nil, "rootkey", "status", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "A rotation to version 2 is under way") {
		t.Fatalf("status: %v\n%s", err, out)
	}

	// A backup taken now holds the two-version keyring and the rotation
	// record: restored elsewhere, it decrypts everything, and the rotation
	// resumes there too.
	file := filepath.Join(t.TempDir(), "mid-rotation.backup")
	if out, err := trent(t, "", nil, "backup", "--data-dir", dir, "-o", file); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	restoredDir := t.TempDir()
	sealEnv := []string{"TRENT_SEAL=file:path=" + filepath.Join(dir, "root.key")}
	if out, err := trent(t, "", sealEnv, "restore", "--data-dir", restoredDir, file); err != nil || !strings.Contains(out, "Restored") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	restored := testserver.Start(t, testserver.Options{DataDir: restoredDir, Env: sealEnv})
	decryptAll(t, kms.NewFromConfig(restored.Config("")), &s)
	if out, err := trent(t, "", nil, "rootkey", "rotate", "--data-dir", restoredDir, "--retire-now"); err != nil || !strings.Contains(out, "Resumed the rotation to version 2") {
		t.Fatalf("rotate of the restored store: %v\n%s", err, out)
	}
	decryptAll(t, kms.NewFromConfig(restored.Config("")), &s)
	restored.Stop(t)

	out, err = trent(t, "", nil, "rootkey", "rotate", "--data-dir", dir, "--retire-now")
	if err != nil || !strings.Contains(out, "Resumed the rotation to version 2") || !strings.Contains(out, "Retired version(s) 1.") {
		t.Fatalf("resumed rotate: %v\n%s", err, out)
	}
	done := rootkeyStatusOf(t, dir)
	if done.versions() != fmt.Sprintf("2:%d", total) || done.Rotation != nil {
		t.Fatalf("status after resuming = %s %+v, want 2:%d", done.versions(), done.Rotation, total)
	}
	decryptAll(t, c, &s)
	srv.Stop(t)
	srv = testserver.Start(t, testserver.Options{DataDir: dir})
	decryptAll(t, kms.NewFromConfig(srv.Config("")), &s)
}

// Two nodes on one etcd, both on the passphrase seal: a rotation run through
// node A is followed by node B, which forgot its passphrase once unsealed.
// Right after the rotation B serves a key whose material A sealed under the
// new version, A serves one B made, both decrypt what was made before, B
// reports that it holds the new version, and B restarted unseals the
// rotated keyring with its seal.
func TestRootKeyRotateTwoNodesEtcd(t *testing.T) {
	c := etcdtest.Start(t, 1)
	env := []string{"TRENT_STORE=" + c.StoreURL("/trent/"), "TRENT_SEAL=passphrase:env," + cheapCost, "TRENT_SEAL_PASSPHRASE=" + passphrase}
	a := testserver.Start(t, testserver.Options{Env: env})
	dirB := t.TempDir()
	b := testserver.Start(t, testserver.Options{DataDir: dirB, Env: env})
	ka, kb := kms.NewFromConfig(a.Config("")), kms.NewFromConfig(b.Config(""))
	ctx := testserver.Context(t)
	s := secretsOf{plaintext: []byte("made before the rotation")}
	for range 3 {
		md := newKey(t, ka, nil)
		enc, err := ka.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: s.plaintext})
		if err != nil {
			t.Fatal(err)
		}
		s.blobs = append(s.blobs, enc.CiphertextBlob)
	}

	out, err := trent(t, "", []string{"TRENT_SEAL_PASSPHRASE=" + passphrase}, "rootkey", "rotate", "--data-dir", a.DataDir, "--retire-now")
	if err != nil || !strings.Contains(out, "Retired version(s) 1.") {
		t.Fatalf("rotate on A: %v\n%s", err, out)
	}
	// Made on A after the rotation: its material is sealed under version 2.
	onA := newKey(t, ka, nil)
	var enc *kms.EncryptOutput
	untilTrue(t, "B encrypts under the key A made after the rotation", func() bool {
		enc, err = kb.Encrypt(ctx, &kms.EncryptInput{KeyId: onA.KeyId, Plaintext: []byte("new on A")})
		return err == nil
	})
	if dec, err := ka.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err != nil || string(dec.Plaintext) != "new on A" {
		t.Fatalf("A decrypts what B encrypted = %v", err)
	}
	onB := newKey(t, kb, nil)
	encB, err := kb.Encrypt(ctx, &kms.EncryptInput{KeyId: onB.KeyId, Plaintext: s.plaintext})
	if err != nil {
		t.Fatal(err)
	}
	s.blobs = append(s.blobs, encB.CiphertextBlob)
	decryptAll(t, ka, &s)
	decryptAll(t, kb, &s)
	st := rootkeyStatusOf(t, dirB)
	if len(st.Versions) != 1 || st.Versions[0].Version != 2 || !st.Versions[0].Held || st.Rotation != nil {
		t.Fatalf("B's status = %+v", st)
	}

	b.Stop(t)
	b = testserver.Start(t, testserver.Options{DataDir: dirB, Env: env})
	decryptAll(t, kms.NewFromConfig(b.Config("")), &s)
}

// Rotation with the seals that keep their secret outside Trent: the pkcs11
// seal (the PIN given to trent rootkey rotate, a wrong one refused) and the
// kms seal (Trent-on-Trent, nothing to give). After each, a restart
// unwraps the new version with the seal and every ciphertext decrypts, and
// no root key version is on disk.
func TestRootKeyRotateHSMAndKMSSeals(t *testing.T) {
	t.Run("pkcs11", func(t *testing.T) {
		conf := softhsmtest.Init(t, softhsmtest.Token{Label: "trent-seal", PIN: "seal-pin-1234"})
		env := []string{"SOFTHSM2_CONF=" + conf, "TRENT_SEAL=pkcs11:module=" + softHSMModule + ",token=trent-seal", "TRENT_SEAL_PIN=seal-pin-1234"}
		dir := t.TempDir()
		srv := testserver.Start(t, testserver.Options{DataDir: dir, Env: env})
		var s secretsOf
		importKnown(t, kms.NewFromConfig(srv.Config("")), &s)
		out, err := trent(t, "", []string{"SOFTHSM2_CONF=" + conf, "TRENT_SEAL_PIN=wrong-pin"}, "rootkey", "rotate", "--data-dir", dir)
		if err == nil || !strings.Contains(out, "refused the PIN") {
			t.Fatalf("rotate with a wrong PIN: %v\n%s", err, out)
		}
		out, err = trent(t, "", []string{"SOFTHSM2_CONF=" + conf, "TRENT_SEAL_PIN=seal-pin-1234"}, "rootkey", "rotate", "--data-dir", dir, "--retire-now")
		if err != nil || !strings.Contains(out, "Retired version(s) 1.") {
			t.Fatalf("rotate: %v\n%s", err, out)
		}
		decryptAll(t, kms.NewFromConfig(srv.Config("")), &s)
		srv.Stop(t)
		srv = testserver.Start(t, testserver.Options{DataDir: dir, Env: env})
		decryptAll(t, kms.NewFromConfig(srv.Config("")), &s)
		srv.Stop(t)
		t.Setenv("SOFTHSM2_CONF", conf)
		w, err := hsm.New(hsm.Config{Module: softHSMModule, Token: "trent-seal", PIN: "seal-pin-1234"})
		if err != nil {
			t.Fatal(err)
		}
		assertNotOnDisk(t, append(s.material, keyringOf(t, dir, w)...), dir, filepath.Dir(conf))
	})
	t.Run("kms", func(t *testing.T) {
		a := testserver.Start(t, testserver.Options{})
		wrapping := newKey(t, kms.NewFromConfig(a.Config("")), nil)
		env := []string{
			"AWS_ACCESS_KEY_ID=" + testserver.AccessKey, "AWS_SECRET_ACCESS_KEY=" + testserver.SecretKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
			"TRENT_SEAL=kms:key=" + *wrapping.Arn + ",endpoint=" + a.URL + ",region=us-east-1",
		}
		dir := t.TempDir()
		b := testserver.Start(t, testserver.Options{DataDir: dir, Env: env})
		var s secretsOf
		importKnown(t, kms.NewFromConfig(b.Config("")), &s)
		if out, err := trent(t, "", nil, "rootkey", "rotate", "--data-dir", dir, "--retire-now"); err != nil || !strings.Contains(out, "Retired version(s) 1.") {
			t.Fatalf("rotate: %v\n%s", err, out)
		}
		b.Stop(t)
		b = testserver.Start(t, testserver.Options{DataDir: dir, Env: env})
		decryptAll(t, kms.NewFromConfig(b.Config("")), &s)
		b.Stop(t)
		cfg := a.Config("")
		w, err := awskms.New(testserver.Context(t), awskms.Config{KeyID: *wrapping.Arn, Endpoint: a.URL, AWS: &cfg})
		if err != nil {
			t.Fatal(err)
		}
		assertNotOnDisk(t, append(s.material, keyringOf(t, dir, w)...), dir)
	})
}
