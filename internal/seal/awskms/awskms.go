// Package awskms is the KMS seal: the root key wrapped by a symmetric key in
// another key management service that speaks the AWS KMS API (AWS KMS
// itself, or another Trent), so that nodes unseal themselves at start
// ("auto-unseal").
//
// It calls Encrypt and Decrypt with the AWS SDK for Go v2, which finds
// credentials the usual way (environment, shared files, SSO, instance or
// container roles). The encryption context binds the ciphertext to its
// purpose, and the key ARN Encrypt answered is recorded so that Decrypt names
// the key (a key policy may then allow only that key).
package awskms

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/trentkms/trent/internal/seal"
)

// Config names the wrapping key and where to reach it.
type Config struct {
	KeyID    string // key id, ARN, alias name or alias ARN
	Endpoint string // URL of the KMS; empty: AWS's endpoint for Region
	Region   string // empty: the SDK's (AWS_REGION, the shared config)
	// Timeout bounds each call, retries included. 0: 30 seconds.
	Timeout time.Duration
	// AWS overrides the SDK configuration (tests); nil: the default chain.
	AWS *aws.Config
}

// Seal is the KMS seal.
type Seal struct {
	cfg Config
	cli *kms.Client
}

var _ seal.Wrapper = (*Seal)(nil)

// New returns the seal; it reads the SDK's configuration but calls nothing.
func New(ctx context.Context, cfg Config) (*Seal, error) {
	if cfg.KeyID == "" {
		return nil, errors.New("seal kms: key= is required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	var ac aws.Config
	if cfg.AWS != nil {
		ac = *cfg.AWS
	} else {
		var opts []func(*config.LoadOptions) error
		if cfg.Region != "" {
			opts = append(opts, config.WithRegion(cfg.Region))
		}
		var err error
		if ac, err = config.LoadDefaultConfig(ctx, opts...); err != nil {
			return nil, fmt.Errorf("seal kms: AWS configuration: %w", err)
		}
	}
	if cfg.Region != "" {
		ac.Region = cfg.Region
	}
	if ac.Region == "" {
		return nil, errors.New("seal kms: no Region: set region= or AWS_REGION")
	}
	cli := kms.NewFromConfig(ac, func(o *kms.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &Seal{cfg: cfg, cli: cli}, nil
}

func (*Seal) Kind() seal.Kind { return seal.KMS }
func (*Seal) Close() error    { return nil }

type params struct {
	KeyARN string `json:"keyArn"`
}

// context is the encryption context of the wrapped root key: the associated
// data, as text since a context is strings.
func encryptionContext(ad []byte) map[string]string {
	return map[string]string{"trent:purpose": "root key", "trent:ad": base64.StdEncoding.EncodeToString(ad)}
}

func (s *Seal) where() string {
	if s.cfg.Endpoint != "" {
		return s.cfg.Endpoint
	}
	return "AWS KMS in " + s.cfg.Region
}

func (s *Seal) Wrap(ctx context.Context, key, ad []byte) (json.RawMessage, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	out, err := s.cli.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(s.cfg.KeyID), Plaintext: key, EncryptionContext: encryptionContext(ad)})
	if err != nil {
		return nil, nil, s.callError("Encrypt", err)
	}
	b, err := json.Marshal(params{KeyARN: aws.ToString(out.KeyId)})
	return b, out.CiphertextBlob, err
}

func (s *Seal) Unwrap(ctx context.Context, raw json.RawMessage, wrapped, ad []byte) ([]byte, error) {
	var p params
	if err := json.Unmarshal(raw, &p); err != nil || p.KeyARN == "" {
		return nil, errors.New("seal kms: the recorded parameters are malformed")
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	out, err := s.cli.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(p.KeyARN), CiphertextBlob: wrapped, EncryptionContext: encryptionContext(ad)})
	if err != nil {
		var ic *types.InvalidCiphertextException
		var ik *types.IncorrectKeyException
		if errors.As(err, &ic) || errors.As(err, &ik) {
			return nil, fmt.Errorf("%w: %s does not decrypt it with %s", seal.ErrWrongSeal, s.where(), p.KeyARN)
		}
		return nil, s.callError("Decrypt", err)
	}
	return out.Plaintext, nil
}

// callError names the operation, the endpoint and the cause: an AWS error's
// code and message, or why the endpoint could not be reached.
func (s *Seal) callError(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("seal kms: %s refused %s with key %s: %s: %s", s.where(), op, s.cfg.KeyID, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("seal kms: cannot reach %s (%s): %w", s.where(), op, err)
}
