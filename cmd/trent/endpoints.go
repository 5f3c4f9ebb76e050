package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/policy"
	"github.com/trentkms/trent/internal/server"
)

// endpointSpec is one --endpoint flag: an additional listener that acts as a
// VPC endpoint, written id=vpce-…,vpc=vpc-…,listen=host:port[,policy=FILE].
type endpointSpec struct {
	server.Endpoint
	listen string
}

func parseEndpoint(s string) (endpointSpec, error) {
	var e endpointSpec
	var policyFile string
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return e, fmt.Errorf("--endpoint %q: %q is not key=value", s, part)
		}
		switch k {
		case "id":
			e.ID = v
		case "vpc":
			e.VPC = v
		case "listen":
			e.listen = v
		case "policy":
			policyFile = v
		default:
			return e, fmt.Errorf("--endpoint %q: unknown field %q (id, vpc, listen, policy)", s, k)
		}
	}
	if !strings.HasPrefix(e.ID, "vpce-") || !strings.HasPrefix(e.VPC, "vpc-") || e.listen == "" {
		return e, fmt.Errorf("--endpoint %q: needs id=vpce-…, vpc=vpc-… and listen=host:port", s)
	}
	if policyFile != "" {
		doc, err := os.ReadFile(policyFile)
		if err != nil {
			return e, fmt.Errorf("--endpoint %s: %w", e.ID, err)
		}
		p, err := policy.Compile(doc, policy.Options{Kind: policy.EndpointKind, MaxBytes: 20480, KnownKey: authz.KnownConditionKey})
		if err != nil {
			return e, fmt.Errorf("--endpoint %s: policy %s: %w", e.ID, policyFile, err)
		}
		e.Policy = p
	}
	return e, nil
}
