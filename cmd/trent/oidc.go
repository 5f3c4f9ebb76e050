package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/server"
)

// trent oidc set-keys configures the keys of an IAM OIDC provider for a
// site whose Trent cannot reach the issuer: its tokens are then verified
// with these keys only, and the issuer is never asked for them.
func newOIDCCmd() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{Use: "oidc", Short: "Configure IAM OpenID Connect providers beyond the IAM API"}
	f.register(cmd)
	var providerARN, jwksFile string
	var clear bool
	setKeys := &cobra.Command{
		Use:   "set-keys --provider-arn ARN (--jwks FILE | --clear)",
		Short: "Verify a provider's tokens with the keys of a JWKS file instead of fetching them from the issuer",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var keys json.RawMessage
			switch {
			case clear && jwksFile != "":
				return fmt.Errorf("give --jwks or --clear, not both")
			case jwksFile != "":
				b, err := os.ReadFile(jwksFile)
				if err != nil {
					return err
				}
				if !json.Valid(b) {
					return fmt.Errorf("%s is not JSON", jwksFile)
				}
				keys = b
			case !clear:
				return fmt.Errorf("give --jwks FILE, or --clear to fetch the keys from the issuer again")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			var out struct{}
			if err := f.adminCall(ctx, "us-east-1", "SetOpenIDConnectProviderKeys", server.SetOpenIDConnectProviderKeysRequest{OpenIDConnectProviderArn: providerARN, Keys: keys}, &out); err != nil {
				return err
			}
			if clear {
				fmt.Printf("%s: keys will be fetched from the issuer\n", providerARN)
			} else {
				fmt.Printf("%s: tokens are verified with the keys of %s\n", providerARN, jwksFile)
			}
			return nil
		},
	}
	setKeys.Flags().StringVar(&providerARN, "provider-arn", "", "the OIDC provider's ARN (required)")
	setKeys.Flags().StringVar(&jwksFile, "jwks", "", "a JWKS document: the issuer's public signing keys")
	setKeys.Flags().BoolVar(&clear, "clear", false, "forget configured keys: fetch them from the issuer again")
	setKeys.MarkFlagRequired("provider-arn")
	cmd.AddCommand(setKeys)
	return cmd
}
