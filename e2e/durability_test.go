package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// An acknowledged write survives the process being killed right after it
// (SIGKILL: no shutdown, no flush beyond what the write already did).
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	md := newKey(t, c, nil)
	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/durable"), TargetKeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/durable"), Plaintext: []byte("still here")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RotateKeyOnDemand(ctx, &kms.RotateKeyOnDemandInput{KeyId: md.KeyId}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()

	srv2 := testserver.Start(t, testserver.Options{DataDir: dir})
	c2 := kms.NewFromConfig(srv2.Config(""))
	d, err := c2.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/durable")})
	if err != nil || *d.KeyMetadata.KeyId != *md.KeyId {
		t.Fatalf("after kill -9, DescribeKey(alias/durable) = %v", err)
	}
	if *d.KeyMetadata.CurrentKeyMaterialId == *md.CurrentKeyMaterialId {
		t.Fatal("after kill -9, the acknowledged rotation is lost")
	}
	dec, err := c2.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "still here" {
		t.Fatalf("after kill -9, Decrypt = %v", err)
	}
}

// Concurrent writes are committed in groups sharing one fsync
// (store/bolt); each is acknowledged only after its group's fsync, so every
// key whose CreateKey answered survives kill -9 however the writes were
// grouped.
func TestConcurrentAcknowledgedWritesSurviveKill(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	const writers, each = 16, 8
	var mu sync.Mutex
	var created []string
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				out, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				created = append(created, *out.KeyMetadata.KeyId)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	srv.Kill()
	if len(created) != writers*each {
		t.Fatalf("%d keys created, want %d", len(created), writers*each)
	}

	srv2 := testserver.Start(t, testserver.Options{DataDir: dir})
	c2 := kms.NewFromConfig(srv2.Config(""))
	for _, id := range created {
		if _, err := c2.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)}); err != nil {
			t.Fatalf("after kill -9, acknowledged key %s: %v", id, err)
		}
	}
}

// A restart reuses the account, credentials and root key: the same SDK
// configuration keeps working and old keys keep decrypting.
func TestRestartReusesIdentityAndRootKey(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	md := newKey(t, c, nil)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	srv2 := testserver.Start(t, testserver.Options{DataDir: dir})
	c2 := kms.NewFromConfig(srv2.Config(""))
	keys, err := c2.ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil || len(keys.Keys) != 1 || *keys.Keys[0].KeyId != *md.KeyId {
		t.Fatalf("ListKeys after restart = %+v, %v", keys, err)
	}
	if _, err := c2.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err != nil {
		t.Fatalf("Decrypt after restart: %v", err)
	}
}

// A node started with another root key than its store was sealed with stops
// at once, saying so.
func TestWrongRootKeyRefused(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	testserver.Start(t, testserver.Options{DataDir: dir}).Stop(t)
	testserver.Start(t, testserver.Options{DataDir: other}).Stop(t)
	key, err := os.ReadFile(filepath.Join(other, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testserver.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the configured seal does not open this store's root key") {
		t.Fatalf("serve with a foreign root key: %v\n%s", err, out)
	}
}
