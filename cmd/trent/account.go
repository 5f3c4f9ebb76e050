package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/server"
)

// The account commands are an operator's front to the Organizations API of a
// running server, signed with the management account's root credentials
// from the data directory: the same authenticated path `aws organizations`
// takes.
type accountFlags struct {
	endpoint, dataDir string
}

func (f *accountFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.endpoint, "endpoint", envOr("TRENT_ENDPOINT", "http://"+defaultListen), "the running server's URL [TRENT_ENDPOINT]")
	cmd.PersistentFlags().StringVar(&f.dataDir, "data-dir", envOr("TRENT_DATA_DIR", "./trent-data"), "the server's data directory, for its credentials file [TRENT_DATA_DIR]")
}

func (f *accountFlags) client(ctx context.Context) (*organizations.Client, error) {
	creds := filepath.Join(f.dataDir, "credentials")
	if _, err := os.Stat(creds); err != nil {
		return nil, fmt.Errorf("no credentials file at %s: %w", creds, err)
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithSharedCredentialsFiles([]string{creds}),
		config.WithSharedConfigFiles([]string{}),
		config.WithRegion("us-east-1"),
	)
	if err != nil {
		return nil, err
	}
	return organizations.NewFromConfig(cfg, func(o *organizations.Options) { o.BaseEndpoint = aws.String(f.endpoint) }), nil
}

func newAccountCmd() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{Use: "account", Short: "Create and list accounts of the organization (management account)"}
	f.register(cmd)
	var name, email string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a member account, founding the organization if needed",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			c, err := f.client(ctx)
			if err != nil {
				return err
			}
			if _, err := c.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil && !isCode(err, "AlreadyInOrganizationException") {
				return err
			}
			out, err := c.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(email)})
			if err != nil {
				return err
			}
			st := out.CreateAccountStatus
			if st.State != orgtypes.CreateAccountStateSucceeded {
				return fmt.Errorf("account not created: %s (%s)", st.State, st.FailureReason)
			}
			fmt.Printf("Created account %s (%s). Reach it by assuming arn:aws:iam::%s:role/OrganizationAccountAccessRole.\n", aws.ToString(st.AccountId), name, aws.ToString(st.AccountId))
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "the account's name (required)")
	create.Flags().StringVar(&email, "email", "", "the account's email address (required)")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("email")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the organization's accounts",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			c, err := f.client(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tJOINED")
			p := organizations.NewListAccountsPaginator(c, &organizations.ListAccountsInput{})
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if isCode(err, "AWSOrganizationsNotInUseException") {
					// Before the first account create there is no
					// organization to list: show the account that will
					// manage it.
					var a server.OperatorAccount
					if err := f.adminCall(ctx, "us-east-1", "DescribeOperatorAccount", struct{}{}, &a); err != nil {
						return err
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Id, orDash(a.Name), orDash(a.Email), "-")
					fmt.Fprintln(os.Stderr, "No organization yet: trent account create founds one, with this account as its management account.")
					break
				}
				if err != nil {
					return err
				}
				for _, a := range out.Accounts {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", aws.ToString(a.Id), orDash(aws.ToString(a.Name)), orDash(aws.ToString(a.Email)), strings.ToLower(string(a.JoinedMethod)))
				}
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

// orDash shows an empty field (an account made before Trent recorded names
// and emails) as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
