package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/server"
)

// trent authz who-can asks a running server, as the account's root
// principal, who can perform each action on a key (or one), through which
// statement or grant, and what of it is access from outside the account or
// organization or open to anyone.
func newWhoCanCmd(f *accountFlags) *cobra.Command {
	var region, keyID, action string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "who-can --key KEY [--action ACTION]",
		Short: "List who can use a key, action by action, with findings for external and public access",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			var out server.AnalyzeKeyAccessResponse
			if err := f.adminCall(ctx, region, "AnalyzeKeyAccess", server.AnalyzeKeyAccessRequest{KeyId: keyID, Action: action}, &out); err != nil {
				return err
			}
			if asJSON {
				b, err := json.MarshalIndent(out.Analysis, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return nil
			}
			fmt.Fprint(cmd.OutOrStdout(), out.Report)
			return nil
		},
	}
	cmd.Flags().StringVar(&region, "region", "us-east-1", "the key's Region")
	cmd.Flags().StringVar(&keyID, "key", "", "key id, key ARN, alias name or alias ARN (required)")
	cmd.Flags().StringVar(&action, "action", "", "one KMS action, e.g. kms:Decrypt; default: every action on the key")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the analysis as JSON")
	cmd.MarkFlagRequired("key")
	return cmd
}
