package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
)

// newPolicyCmd returns `trent policy`: offline tools for policy documents.
func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate and evaluate IAM policy documents offline",
	}
	cmd.AddCommand(newPolicyValidateCmd(), newPolicyEvalCmd())
	return cmd
}

// policyFlags are the options shared by the subcommands.
type policyFlags struct {
	kind     string
	maxBytes int
	latin1   bool
	strict   bool
}

func (f *policyFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kind, "kind", "resource", "policy kind: any, identity, resource, trust or endpoint")
	cmd.Flags().IntVar(&f.maxBytes, "max-bytes", 0, "maximum document size in bytes (KMS key policies: 32768); 0 = no limit")
	cmd.Flags().BoolVar(&f.latin1, "key-policy-charset", false, "allow only tab, LF, CR and U+0020-U+00FF, as KMS key policies do")
	cmd.Flags().BoolVar(&f.strict, "warnings-as-errors", false, "treat warnings as errors when compiling")
}

func (f *policyFlags) options() (policy.Options, error) {
	k, err := policy.ParseKind(f.kind)
	if err != nil {
		return policy.Options{}, err
	}
	o := policy.Options{Kind: k, MaxBytes: f.maxBytes, WarningsAsErrors: f.strict}
	if f.latin1 {
		o.Charset = policy.Latin1Charset
	}
	return o, nil
}

func newPolicyValidateCmd() *cobra.Command {
	var f policyFlags
	var anyKey bool
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Report every finding in a policy document; exit status 1 if there is any",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			if !anyKey {
				// As the server validates what it stores.
				o.KnownKey = authz.KnownConditionKey
			}
			doc, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			findings := policy.Validate(doc, o)
			for _, fd := range findings {
				fmt.Fprintln(cmd.OutOrStdout(), fd)
			}
			if len(findings) > 0 {
				cmd.SilenceUsage = true
				return fmt.Errorf("%s: %d finding(s)", args[0], len(findings))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid %s policy\n", args[0], o.Kind)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&anyKey, "any-condition-key", false, "accept condition keys of the served services (aws:, kms:, iam:, sts:, organizations:) that Trent never sets, as AWS accepts them; the server refuses them")
	return cmd
}

func newPolicyEvalCmd() *cobra.Command {
	var f policyFlags
	var policyFile, contextFile string
	cmd := &cobra.Command{
		Use:   "eval --policy FILE --context FILE",
		Short: "Evaluate a policy for a request context (JSON) and explain the decision",
		Long: `Evaluate a policy for a request context and explain the decision.

The context file is JSON:
  {"principal": {"type": "AWS", "arn": "arn:aws:iam::111122223333:user/Alice", "account": "111122223333"},
   "action": "kms:Decrypt", "resource": "arn:aws:kms:us-east-1:111122223333:key/…",
   "time": "2025-01-02T03:04:05Z",
   "keys": {"kms:CallerAccount": "111122223333", "aws:TagKeys": ["a", "b"]}}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options()
			if err != nil {
				return err
			}
			doc, err := os.ReadFile(policyFile)
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(contextFile)
			if err != nil {
				return err
			}
			p, err := policy.Compile(doc, o)
			if err != nil {
				var ve *policy.ValidationError
				if errors.As(err, &ve) {
					for _, fd := range ve.Findings {
						fmt.Fprintln(cmd.ErrOrStderr(), fd)
					}
				}
				cmd.SilenceUsage = true
				return fmt.Errorf("%s: %w", policyFile, err)
			}
			req, err := policy.DecodeRequest(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", contextFile, err)
			}
			fmt.Fprint(cmd.OutOrStdout(), p.Explain(req))
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&policyFile, "policy", "", "policy document (JSON)")
	cmd.Flags().StringVar(&contextFile, "context", "", "request context (JSON)")
	_ = cmd.MarkFlagRequired("policy")
	_ = cmd.MarkFlagRequired("context")
	return cmd
}
