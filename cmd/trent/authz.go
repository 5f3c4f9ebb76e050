package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/server"
)

// trent authz explain asks a running server, as the account's root
// principal (credentials from the data directory), why a principal may or may
// not perform a KMS action on a key.
func newAuthzCmd() *cobra.Command {
	var f accountFlags
	var region, principal, action, keyID string
	var ec []string
	cmd := &cobra.Command{Use: "authz", Short: "Explain authorization decisions"}
	f.register(cmd)
	explain := &cobra.Command{
		Use:   "explain",
		Short: "Explain whether a principal may perform a KMS action on a key, statement by statement",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			req := server.ExplainRequest{Principal: principal, Action: action, KeyId: keyID}
			for _, kv := range ec {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--context %q is not key=value", kv)
				}
				if req.EncryptionContext == nil {
					req.EncryptionContext = map[string]string{}
				}
				req.EncryptionContext[k] = v
			}
			var out server.ExplainResponse
			if err := f.adminCall(ctx, region, "ExplainAuthorization", req, &out); err != nil {
				return err
			}
			fmt.Print(out.Explanation)
			if !out.Allowed {
				return fmt.Errorf("denied")
			}
			return nil
		},
	}
	explain.Flags().StringVar(&region, "region", "us-east-1", "the key's Region")
	explain.Flags().StringVar(&principal, "principal", "", "the principal's ARN: arn:aws:iam::ACCOUNT:root, …:user/NAME or …:role/NAME (required)")
	explain.Flags().StringVar(&action, "action", "", "the KMS action, e.g. kms:Decrypt (required)")
	explain.Flags().StringVar(&keyID, "key-id", "", "key id, key ARN, alias name or alias ARN (required)")
	explain.Flags().StringArrayVar(&ec, "context", nil, "an encryption context pair key=value; repeatable")
	for _, n := range []string{"principal", "action", "key-id"} {
		explain.MarkFlagRequired(n)
	}
	cmd.AddCommand(explain)
	return cmd
}

// adminCall signs a TrentAdmin operation with the data directory's root
// credentials and decodes the response.
func (f *accountFlags) adminCall(ctx context.Context, region, op string, in, out any) error {
	// Without the file the SDK's default chain would look further (the
	// environment, EC2 instance metadata): say what is missing instead.
	if creds := filepath.Join(f.dataDir, "credentials"); !fileExists(creds) {
		return fmt.Errorf("no credentials file at %s: give the server's --data-dir", creds)
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithSharedCredentialsFiles([]string{filepath.Join(f.dataDir, "credentials")}),
		config.WithSharedConfigFiles([]string{}), config.WithRegion(region))
	if err != nil {
		return err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(f.endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentAdmin."+op)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "kms", region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(data, &e)
		return fmt.Errorf("%s: %s", e.Type, e.Message)
	}
	return json.Unmarshal(data, out)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
