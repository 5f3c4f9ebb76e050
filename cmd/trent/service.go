package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/trentkms/trent/internal/server"
)

// trent service register|list manage registered service principals on a
// running server, as the operating account's root principal.
func newServiceCmd() *cobra.Command {
	var f accountFlags
	cmd := &cobra.Command{Use: "service", Short: "Register service principals that act for themselves or for callers (docs/SERVICES.md)"}
	f.register(cmd)
	var name string
	register := &cobra.Command{
		Use:   "register",
		Short: "Register a service principal and print its access key",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			var out server.RegisterServiceResponse
			if err := f.adminCall(ctx, "us-east-1", "RegisterService", server.RegisterServiceRequest{Name: name}, &out); err != nil {
				return err
			}
			fmt.Printf("Registered service %s. Its access key (the secret is not shown again):\n", out.Name)
			fmt.Printf("aws_access_key_id = %s\naws_secret_access_key = %s\n", out.AccessKeyId, out.SecretAccessKey)
			return nil
		},
	}
	register.Flags().StringVar(&name, "name", "", "the service principal's name, a DNS name such as backup.example.internal (required)")
	register.MarkFlagRequired("name")
	list := &cobra.Command{
		Use:   "list",
		Short: "List registered services",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			var out server.ListServicesResponse
			if err := f.adminCall(ctx, "us-east-1", "ListServices", struct{}{}, &out); err != nil {
				return err
			}
			for _, n := range out.Services {
				fmt.Println(n)
			}
			return nil
		},
	}
	cmd.AddCommand(register, list)
	return cmd
}
