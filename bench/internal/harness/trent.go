//go:build linux

package harness

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// Root is the account and root access key a Trent server a benchmark
// starts itself is created with.
type Root struct {
	Account, AccessKeyID, Secret string
}

// NewRoot returns the root of account with a random secret, new each run.
func NewRoot(account, accessKeyID string) (Root, error) {
	var sb [30]byte
	if _, err := rand.Read(sb[:]); err != nil {
		return Root{}, err
	}
	return Root{Account: account, AccessKeyID: accessKeyID, Secret: base64.RawURLEncoding.EncodeToString(sb[:])}, nil
}

// Serve is how a benchmark runs `trent serve`: bin on a loopback port with
// dataDir, logging warnings only, its root from the environment.
type Serve struct {
	Bin, DataDir, Region string
	Root                 Root
	Args                 []string // more flags
	Env                  []string // more environment
	// StartTimeout bounds the wait for the banner: a data directory of
	// many keys takes a while to load.
	StartTimeout time.Duration
}

// StartTrent starts s and returns when the server listens.
func StartTrent(ctx context.Context, s Serve) (*Child, error) {
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", s.DataDir, "--region", s.Region, "--log-level", "warn"}, s.Args...)
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = append(os.Environ(),
		"TRENT_ACCOUNT_ID="+s.Root.Account,
		"TRENT_ROOT_ACCESS_KEY_ID="+s.Root.AccessKeyID,
		"TRENT_ROOT_SECRET_ACCESS_KEY="+s.Root.Secret,
	)
	cmd.Env = append(cmd.Env, s.Env...)
	return StartChild(ctx, "trent serve", cmd, TrentBanner, s.StartTimeout)
}

// NewClient is a KMS client for endpoint with keep-alive connections for
// conns goroutines and no retries, so that every failure is counted.
func NewClient(endpoint, region, accessKeyID, secret string, conns int) *kms.Client {
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * conns
		t.MaxIdleConnsPerHost = 2 * conns
		t.Proxy = nil
	})
	return kms.NewFromConfig(aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKeyID, secret, ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   hc,
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
}
