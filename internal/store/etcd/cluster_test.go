package etcd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/testserver"
)

// Two real `trent serve` processes on one etcd are one Region: a key and
// alias made on one node are used on the other, and changes flow both ways.
func TestClusterOfTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trent serve")
	}
	// Nothing is copied between the nodes: the root key is in etcd, wrapped
	// by the passphrase seal both are given.
	env := []string{"TRENT_STORE=etcd://" + endpoint + prefixOf(t), "TRENT_SEAL=passphrase:env,time=1,memory-mib=8,threads=1", "TRENT_SEAL_PASSPHRASE=" + clusterPassphrase}
	a := testserver.Start(t, testserver.Options{Env: env})
	dirB := t.TempDir()
	b := testserver.Start(t, testserver.Options{DataDir: dirB, Env: env})
	if _, err := os.Stat(filepath.Join(dirB, "trent.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("node B opened a bolt file with --store etcd: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dirB, "root.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("node B made a key file with the passphrase seal: %v", err)
	}

	ka, kb := kms.NewFromConfig(a.Config("")), kms.NewFromConfig(b.Config(""))
	ctx := testserver.Context(t)
	const alias = "alias/cluster"

	key, err := ka.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("made on A")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ka.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}

	// B serves from its view, which follows etcd through a watch: it sees
	// A's writes moments later, not necessarily at once.
	eventually(t, "B resolves the alias A made", func() error {
		d, err := kb.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
		if err == nil && *d.KeyMetadata.KeyId != *key.KeyMetadata.KeyId {
			t.Fatalf("B resolves %s to %s, want %s", alias, *d.KeyMetadata.KeyId, *key.KeyMetadata.KeyId)
		}
		return err
	})
	plaintext := []byte("sealed on B, opened on A")
	enc, err := kb.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(alias), Plaintext: plaintext})
	if err != nil {
		t.Fatalf("Encrypt on B: %v", err)
	}
	dec, err := ka.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || !bytes.Equal(dec.Plaintext, plaintext) || *dec.KeyId != *key.KeyMetadata.Arn {
		t.Fatalf("Decrypt on A = %+v, %v", dec, err)
	}

	if _, err := kb.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(alias)}); err != nil {
		t.Fatalf("DeleteAlias on B: %v", err)
	}
	eventually(t, "A sees the alias gone", func() error {
		_, err := ka.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
		var nf *types.NotFoundException
		if errors.As(err, &nf) {
			return nil
		}
		if err == nil {
			return errors.New("alias still resolves")
		}
		return err
	})
}

const clusterPassphrase = "cluster passphrase for tests"

// Nodes started at once on an empty prefix all come up and agree: one of
// them makes the root key and the first account (random here) in one
// transaction, the others unseal its root key and find its account, and a
// key made on any node is used on every other.
func TestNodesStartedAtOnceAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trent serve")
	}
	env := []string{"TRENT_STORE=etcd://" + endpoint + prefixOf(t), "TRENT_ACCOUNT_ID=",
		"TRENT_SEAL=passphrase:env,time=1,memory-mib=8,threads=1", "TRENT_SEAL_PASSPHRASE=" + clusterPassphrase}
	const n = 4
	opts := make([]testserver.Options, n)
	for i := range opts {
		opts[i] = testserver.Options{Env: env}
	}
	nodes := testserver.StartMany(t, opts...)
	ctx := testserver.Context(t)
	account := ""
	made := 0
	for i, node := range nodes {
		id, err := sts.NewFromConfig(node.Config("")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("node %d: %v\n%s", i, err, node.Stderr())
		}
		if account == "" {
			account = *id.Account
		}
		if *id.Account != account {
			t.Fatalf("node %d is in account %s, node 0 in %s", i, *id.Account, account)
		}
		if strings.Contains(node.Stderr(), "made the store's root key") {
			made++
		}
	}
	if made != 1 {
		t.Fatalf("%d nodes made a root key, want 1", made)
	}
	if account == testserver.Account {
		t.Fatal("the account is the test default: it was not made by the nodes")
	}
	for i, node := range nodes {
		c := kms.NewFromConfig(node.Config(""))
		key, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
		if err != nil {
			t.Fatalf("CreateKey on node %d: %v", i, err)
		}
		enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		next := kms.NewFromConfig(nodes[(i+1)%n].Config(""))
		eventually(t, "the next node decrypts", func() error {
			_, err := next.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
			return err
		})
	}
}

// eventually retries f until it returns nil, for up to five seconds: the time
// a node may take to see another node's write.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	tries := 0
	for {
		tries++
		err := f()
		if err == nil {
			if tries > 1 {
				t.Logf("%s after %d tries", what, tries)
			}
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: not within 5s: %v", what, err)
		}
	}
}

// trent migrate copies a store from the embedded engine to etcd and back;
// the keys made on the first decrypt on the last, and a store whose schema
// is newer than the binary is refused.
func TestMigrateBoltToEtcdAndBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trent serve")
	}
	seal := []string{"TRENT_SEAL=passphrase:env,time=1,memory-mib=8,threads=1", "TRENT_SEAL_PASSPHRASE=" + clusterPassphrase}
	dirA := t.TempDir()
	a := testserver.Start(t, testserver.Options{DataDir: dirA, Env: seal})
	ctx := testserver.Context(t)
	c := kms.NewFromConfig(a.Config(""))
	key, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: key.KeyMetadata.KeyId, Plaintext: []byte("moved")})
	if err != nil {
		t.Fatal(err)
	}
	a.Stop(t)

	etcdURL := "etcd://" + endpoint + prefixOf(t)
	migrate := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(testserver.Binary(t), append([]string{"migrate"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("migrate %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	migrate("--from", "bolt:"+dirA, "--to", etcdURL)
	if out, err := exec.Command(testserver.Binary(t), "migrate", "--from", "bolt:"+dirA, "--to", etcdURL).CombinedOutput(); err == nil || !strings.Contains(string(out), "the store is not empty") {
		t.Fatalf("migrate into a non-empty store: %v\n%s", err, out)
	}
	e := testserver.Start(t, testserver.Options{Env: append(seal, "TRENT_STORE="+etcdURL)})
	dec, err := kms.NewFromConfig(e.Config("")).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "moved" {
		t.Fatalf("Decrypt on etcd after migrate = %v", err)
	}
	e.Stop(t)

	dirB := t.TempDir()
	migrate("--from", etcdURL, "--to", "bolt:"+dirB)
	b := testserver.Start(t, testserver.Options{DataDir: dirB, Env: seal})
	dec, err = kms.NewFromConfig(b.Config("")).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "moved" {
		t.Fatalf("Decrypt on bolt after migrating back = %v", err)
	}
	b.Stop(t)

	// A newer Trent's store: this binary refuses to serve or migrate it.
	st, err := Open(ctx, []string{endpoint}, Options{Prefix: prefixOf(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Txn(ctx, store.Txn{Puts: []store.KV{{Key: store.SchemaKey, Value: []byte(`{"version":99}`)}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	serve := exec.Command(testserver.Binary(t), "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--store", etcdURL)
	serve.Env = append(os.Environ(), seal...)
	if out, err := serve.CombinedOutput(); err == nil || !strings.Contains(string(out), "run a newer Trent") {
		t.Fatalf("serve on a newer store: %v\n%s", err, out)
	}
	if out, err := exec.Command(testserver.Binary(t), "migrate", "--from", etcdURL, "--to", "bolt:"+t.TempDir()).CombinedOutput(); err == nil || !strings.Contains(string(out), "run a newer Trent") {
		t.Fatalf("migrate of a newer store: %v\n%s", err, out)
	}
}
