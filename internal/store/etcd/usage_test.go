package etcd

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testserver"
)

// GetKeyLastUsage gives the same answer on every node of a cluster: each
// node writes the uses it served to etcd in batches, and each answers from
// etcd and its own uses.
func TestKeyLastUsageAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs trent serve")
	}
	env := []string{"TRENT_STORE=etcd://" + endpoint + prefixOf(t), "TRENT_SEAL=passphrase:env,time=1,memory-mib=8,threads=1",
		"TRENT_SEAL_PASSPHRASE=" + clusterPassphrase, "TRENT_USAGE_FLUSH_INTERVAL=1s"}
	a := testserver.Start(t, testserver.Options{Env: append(env, "TRENT_NODE_ID=a")})
	b := testserver.Start(t, testserver.Options{Env: append(env, "TRENT_NODE_ID=b")})
	ka, kb := kms.NewFromConfig(a.Config("")), kms.NewFromConfig(b.Config(""))
	ctx := testserver.Context(t)
	key, err := ka.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := key.KeyMetadata.KeyId
	last := func(c *kms.Client) (*kms.GetKeyLastUsageOutput, error) {
		return c.GetKeyLastUsage(ctx, &kms.GetKeyLastUsageInput{KeyId: id})
	}
	enc, err := ka.Encrypt(ctx, &kms.EncryptInput{KeyId: id, Plaintext: []byte("used on A")})
	if err != nil {
		t.Fatal(err)
	}
	// A knows at once; B once A has flushed.
	if out, err := last(ka); err != nil || out.KeyLastUsage == nil || out.KeyLastUsage.Operation != types.KeyLastUsageTrackingOperationEncrypt {
		t.Fatalf("A: GetKeyLastUsage = %+v, %v", out, err)
	}
	eventually(t, "B reports A's Encrypt", func() error {
		out, err := last(kb)
		if err != nil {
			return err
		}
		if out.KeyLastUsage == nil || out.KeyLastUsage.Operation != types.KeyLastUsageTrackingOperationEncrypt {
			return fmt.Errorf("B: last use %+v", out.KeyLastUsage)
		}
		return nil
	})

	// A use on B, in a later second (uses are dated to the second): A comes
	// to report it, and both agree on every field.
	out, err := last(ka)
	if err != nil {
		t.Fatal(err)
	}
	for !time.Now().Truncate(time.Second).After(*out.KeyLastUsage.Timestamp) {
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := kb.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "A reports B's Decrypt", func() error {
		out, err := last(ka)
		if err != nil {
			return err
		}
		if out.KeyLastUsage == nil || out.KeyLastUsage.Operation != types.KeyLastUsageTrackingOperationDecrypt {
			return fmt.Errorf("A: last use %+v", out.KeyLastUsage)
		}
		return nil
	})
	oa, err := last(ka)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := last(kb)
	if err != nil {
		t.Fatal(err)
	}
	ua, ub := oa.KeyLastUsage, ob.KeyLastUsage
	if aws.ToString(ua.CloudTrailEventId) != aws.ToString(ub.CloudTrailEventId) || aws.ToString(ua.KmsRequestId) != aws.ToString(ub.KmsRequestId) ||
		!ua.Timestamp.Equal(*ub.Timestamp) || !oa.TrackingStartDate.Equal(*ob.TrackingStartDate) {
		t.Fatalf("the nodes disagree: A %+v since %v, B %+v since %v", ua, oa.TrackingStartDate, ub, ob.TrackingStartDate)
	}
}
