package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testserver"
)

// A backup of a live server under write load restores into a new data
// directory, where every ciphertext made before the backup decrypts; a
// truncated or altered backup, a wrong seal and a non-empty store are refused
// without writing; the backup holds no key material, root key or passphrase
// in plaintext.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	sealEnv := passphraseSealEnv
	dirA := t.TempDir()
	a := testserver.Start(t, testserver.Options{DataDir: dirA, Env: sealEnv})
	c := kms.NewFromConfig(a.Config(""))
	var s secretsOf
	secretsBefore(t, c, &s, 5)

	// Write load: keys made, tagged and used while the backup is taken.
	stop := make(chan struct{})
	var writes atomic.Int64
	wait := encryptLoad(t, c, []byte("load"), stop, &writes, types.Tag{TagKey: aws.String("load"), TagValue: aws.String("yes")})
	beforeBackup := writes.Load()
	file := filepath.Join(t.TempDir(), "trent.backup")
	out, err := trent(t, "", nil, "backup", "--data-dir", dirA, "-o", file)
	during := writes.Load()
	close(stop)
	wait()
	if err != nil || !strings.Contains(out, "Backed up") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if during == beforeBackup {
		t.Fatal("no write was made while the backup was taken")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file mode %v", fi.Mode().Perm())
	}
	a.Stop(t)

	dirB := t.TempDir()
	refused := func(name string, content []byte, env []string, want string) {
		t.Helper()
		f := filepath.Join(t.TempDir(), name)
		os.WriteFile(f, content, 0o600)
		out, err := trent(t, "", env, "restore", "--data-dir", dirB, f)
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("restore of %s: %v\n%s", name, err, out)
		}
		if _, err := os.Stat(filepath.Join(dirB, "trent.db")); err == nil {
			t.Fatalf("a refused restore (%s) made a store", name)
		}
	}
	refused("truncated", b[:len(b)*2/3], nil, "truncated")
	altered := []byte(strings.Replace(string(b), `"key":"acct/`, `"key":"acct-`, 1))
	refused("altered", altered, nil, "altered")
	refused("wrong seal", b, []string{"TRENT_SEAL=passphrase:env", "TRENT_SEAL_PASSPHRASE=incorrect horse battery staple"}, "wrong passphrase")

	out, err = trent(t, "", sealEnv, "restore", "--data-dir", dirB, file)
	if err != nil || !strings.Contains(out, "Restored") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	out, err = trent(t, "", sealEnv, "restore", "--data-dir", dirB, file)
	if err == nil || !strings.Contains(out, "the store is not empty") {
		t.Fatalf("restore into a non-empty store: %v\n%s", err, out)
	}

	restored := testserver.Start(t, testserver.Options{DataDir: dirB, Env: sealEnv})
	decryptAll(t, kms.NewFromConfig(restored.Config("")), &s)
	restored.Stop(t)

	assertNotOnDisk(t, append(s.material, rootKeyOf(t, dirB, passSeal(t)), []byte(passphrase)), filepath.Dir(file))
}
