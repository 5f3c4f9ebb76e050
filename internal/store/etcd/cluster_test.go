package etcd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testserver"
)

// Two real `trent serve` processes on one etcd are one Region: a key and
// alias made on one node are used on the other, and changes flow both ways.
func TestClusterOfTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trent serve")
	}
	storeURL := "TRENT_STORE=etcd://" + endpoint + prefixOf(t)
	a := testserver.Start(t, testserver.Options{Env: []string{storeURL}})
	// Node B needs A's root key, which seals every record, and nothing
	// else of A's data directory: the records are in etcd.
	dirB := t.TempDir()
	rootKey, err := os.ReadFile(filepath.Join(a.DataDir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "root.key"), rootKey, 0o600); err != nil {
		t.Fatal(err)
	}
	b := testserver.Start(t, testserver.Options{DataDir: dirB, Env: []string{storeURL}})
	if _, err := os.Stat(filepath.Join(dirB, "trent.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("node B opened a bolt file with --store etcd: %v", err)
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
