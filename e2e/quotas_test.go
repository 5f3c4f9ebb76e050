package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// TestQuotas: the operator sets the resource quotas through the
// environment (README, configuration), and each answers
// LimitExceededException with AWS's text when reached.
func TestQuotas(t *testing.T) {
	const pin = "quota-pin"
	env := softHSMTokens(t, pin, [2]string{"cluster-2a23b4cdefg", "q1"}, [2]string{"cluster-3a23b4cdefg", "q2"})
	env = append(env, "TRENT_MAX_KEYS_PER_REGION=2", "TRENT_MAX_ALIASES_PER_KEY=1", "TRENT_MAX_CUSTOM_KEY_STORES=1")
	srv := testserver.Start(t, testserver.Options{Env: env})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)

	k := newKey(t, c, nil)
	newKey(t, c, nil)
	_, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
	wantErr(t, err, "LimitExceededException", "Key quota for this account in this region is 2 but the current usage is 2.")

	if _, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/first"), TargetKeyId: k.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/second"), TargetKeyId: k.KeyId})
	wantErr(t, err, "LimitExceededException", "Aliases per key quota for this account in this region is 1, current usage is 1.")

	anchor := trustAnchor(t)
	store := func(name, cluster string) error {
		_, err := c.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{CustomKeyStoreName: aws.String(name),
			CloudHsmClusterId: aws.String(cluster), TrustAnchorCertificate: aws.String(anchor), KeyStorePassword: aws.String(pin)})
		return err
	}
	if err := store("one", "cluster-2a23b4cdefg"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, store("two", "cluster-3a23b4cdefg"), "LimitExceededException", "Custom key store quota for this account in this region is 1 but the current usage is 1.")
}
