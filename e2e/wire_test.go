package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/testserver"
)

// recorder is the SDK's HTTP client that keeps the body of the last
// response, so one request is checked both as the SDK parses it and as the
// raw JSON a boto3 script or a plain HTTP client reads.
type recorder struct {
	mu   sync.Mutex
	last []byte
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.last = b
	r.mu.Unlock()
	return resp, nil
}

// body returns the last response body as JSON members.
func (r *recorder) body(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.last, &m); err != nil {
		t.Fatalf("response is not a JSON object: %q", r.last)
	}
	return m
}

// recordingClient is a KMS client of the server's root account in region
// whose responses rec keeps.
func recordingClient(srv *testserver.Server, region string) (*kms.Client, *recorder) {
	rec := &recorder{}
	cfg := srv.Config(region)
	cfg.HTTPClient = rec
	return kms.NewFromConfig(cfg), rec
}

// TestEmptyListsOnTheWire checks that every List* and Describe* operation
// with nothing to list sends its list as [] (the paginators' result keys
// and the lists the model's examples show empty), as AWS does: a boto3
// script doing resp["Tags"] must not get a KeyError, and the SDK must see
// an empty list, not a missing one.
func TestEmptyListsOnTheWire(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{Regions: []string{"us-east-1", "eu-west-1"}})
	c, rec := recordingClient(srv, "us-east-1")
	ctx := testserver.Context(t)

	// empty checks the raw member path (nested by name) is [] and that the
	// SDK parsed it as a non-nil empty list (sdkLen < 0: nil).
	empty := func(t *testing.T, sdkLen int, path ...string) {
		t.Helper()
		m := rec.body(t)
		for _, p := range path[:len(path)-1] {
			var inner map[string]json.RawMessage
			if err := json.Unmarshal(m[p], &inner); err != nil {
				t.Fatalf("%s is not an object in %v", p, m)
			}
			m = inner
		}
		last := path[len(path)-1]
		if got, ok := m[last]; !ok || string(got) != "[]" {
			t.Errorf("raw %v: %s = %s (present %v), want []", path, last, got, ok)
		}
		if sdkLen != 0 {
			t.Errorf("SDK: %v has %d elements (-1: absent), want an empty list", path, sdkLen)
		}
	}
	sdkLen := func(n int, isNil bool) int {
		if isNil {
			return -1
		}
		return n
	}

	t.Run("ListKeys", func(t *testing.T) {
		out, err := c.ListKeys(ctx, &kms.ListKeysInput{})
		if err != nil {
			t.Fatal(err)
		}
		empty(t, sdkLen(len(out.Keys), out.Keys == nil), "Keys")
	})
	t.Run("ListAliases", func(t *testing.T) {
		out, err := c.ListAliases(ctx, &kms.ListAliasesInput{})
		if err != nil {
			t.Fatal(err)
		}
		empty(t, sdkLen(len(out.Aliases), out.Aliases == nil), "Aliases")
	})
	t.Run("DescribeCustomKeyStores", func(t *testing.T) {
		out, err := c.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{})
		if err != nil {
			t.Fatal(err)
		}
		empty(t, sdkLen(len(out.CustomKeyStores), out.CustomKeyStores == nil), "CustomKeyStores")
	})
	t.Run("ListRetirableGrants", func(t *testing.T) {
		out, err := c.ListRetirableGrants(ctx, &kms.ListRetirableGrantsInput{RetiringPrincipal: aws.String("arn:aws:iam::" + testserver.Account + ":root")})
		if err != nil {
			t.Fatal(err)
		}
		empty(t, sdkLen(len(out.Grants), out.Grants == nil), "Grants")
	})

	k := newKey(t, c, nil)
	t.Run("ListGrants", func(t *testing.T) {
		out, err := c.ListGrants(ctx, &kms.ListGrantsInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		empty(t, sdkLen(len(out.Grants), out.Grants == nil), "Grants")
	})
	t.Run("ListResourceTags", func(t *testing.T) {
		out, err := c.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		empty(t, sdkLen(len(out.Tags), out.Tags == nil), "Tags")
	})
	t.Run("ListKeyRotations", func(t *testing.T) {
		out, err := c.ListKeyRotations(ctx, &kms.ListKeyRotationsInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		empty(t, sdkLen(len(out.Rotations), out.Rotations == nil), "Rotations")
	})
	t.Run("ListKeyPolicies", func(t *testing.T) {
		// Never empty: a key has its one policy, "default".
		out, err := c.ListKeyPolicies(ctx, &kms.ListKeyPoliciesInput{KeyId: k.KeyId})
		if err != nil || len(out.PolicyNames) != 1 || out.PolicyNames[0] != "default" {
			t.Fatalf("ListKeyPolicies = %+v, %v", out, err)
		}
		if got := string(rec.body(t)["PolicyNames"]); got != `["default"]` {
			t.Errorf("raw PolicyNames = %s", got)
		}
	})
	t.Run("multi-Region primary without replicas", func(t *testing.T) {
		created, err := c.CreateKey(ctx, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		rk := created.KeyMetadata.MultiRegionConfiguration.ReplicaKeys
		empty(t, sdkLen(len(rk), rk == nil), "KeyMetadata", "MultiRegionConfiguration", "ReplicaKeys")
		d, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: created.KeyMetadata.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		rk = d.KeyMetadata.MultiRegionConfiguration.ReplicaKeys
		empty(t, sdkLen(len(rk), rk == nil), "KeyMetadata", "MultiRegionConfiguration", "ReplicaKeys")

		t.Run("ReplicateKey without tags", func(t *testing.T) {
			out, err := c.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: created.KeyMetadata.KeyId, ReplicaRegion: aws.String("eu-west-1")})
			if err != nil {
				t.Fatal(err)
			}
			empty(t, sdkLen(len(out.ReplicaTags), out.ReplicaTags == nil), "ReplicaTags")
		})
	})
}

// TestDryRunIgnoreCiphertext: a DryRun Decrypt or ReEncrypt with
// DryRunModifiers IGNORE_CIPHERTEXT and a junk ciphertext answers
// DryRunOperationException, as the model's DryRunModifiers says.
func TestDryRunIgnoreCiphertext(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	k := newKey(t, c, nil)
	junk := []byte("junk")
	ignore := []types.DryRunModifierType{types.DryRunModifierTypeIgnoreCiphertext}
	_, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: junk, DryRun: aws.Bool(true), DryRunModifiers: ignore})
	wantErr(t, err, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{SourceKeyId: k.Arn, DestinationKeyId: k.KeyId, CiphertextBlob: junk, DryRun: aws.Bool(true), DryRunModifiers: ignore})
	wantErr(t, err, "DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: k.KeyId, CiphertextBlob: junk, DryRun: aws.Bool(true)})
	wantErr(t, err, "InvalidCiphertextException", "")
}
