package main

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/keystore"
	"github.com/trentkms/trent/internal/keystore/pkcs11"
	"github.com/trentkms/trent/internal/kms"
)

// clusterID is the API model's pattern of a CloudHsmClusterId: an id that
// does not match could never be named in a request.
var clusterID = regexp.MustCompile(`^cluster-[2-7a-zA-Z]{11,16}$`)

// parseHSM parses one --hsm value: cluster-<id>=module=<path>,token=<label>.
// The cluster id is what CreateCustomKeyStore's CloudHsmClusterId names.
func parseHSM(s string) (pkcs11.Config, error) {
	id, rest, ok := strings.Cut(s, "=")
	if !ok || !clusterID.MatchString(id) {
		return pkcs11.Config{}, fmt.Errorf("--hsm %q: want cluster-<id>=module=<path>,token=<label>, the id as AWS's (cluster-[2-7a-zA-Z]{11,16})", s)
	}
	cfg := pkcs11.Config{ClusterID: id}
	for _, kv := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "module":
			cfg.Module = v
		case "token":
			cfg.Token = v
		default:
			return pkcs11.Config{}, fmt.Errorf("--hsm %s: unknown setting %q (want module and token)", id, k)
		}
	}
	if cfg.Module == "" || cfg.Token == "" {
		return pkcs11.Config{}, fmt.Errorf("--hsm %s: module= and token= are both required", id)
	}
	return cfg, nil
}

// openHSMs loads the PKCS#11 modules of the --hsm flags. It returns a nil
// keystore.Clusters (no custom key stores possible) when there are none, and
// a close function to run at shutdown.
func openHSMs(specs []string) (keystore.Clusters, func() error, error) {
	if len(specs) == 0 {
		return nil, func() error { return nil }, nil
	}
	var cfgs []pkcs11.Config
	for _, s := range specs {
		cfg, err := parseHSM(s)
		if err != nil {
			return nil, nil, err
		}
		cfgs = append(cfgs, cfg)
	}
	c, err := pkcs11.New(cfgs, pkcs11.Options{})
	if err != nil {
		return nil, nil, err
	}
	return c, c.Close, nil
}

// slrMaker gives kms the custom key stores' service-linked role from iam.
type slrMaker struct{ d *iam.Directory }

func (m slrMaker) EnsureCustomKeyStoreRole(ctx context.Context, id *authz.Identity, r authz.Request) error {
	return m.d.EnsureServiceLinkedRole(ctx, iam.Call{Identity: id, Request: r}, iam.CustomKeyStoresService)
}

// cksRoleUsage tells iam where the custom key stores' role is in use: every
// Region with a custom key store, naming the stores.
func cksRoleUsage(k *kms.Service) iam.UsageFunc {
	return func(_ context.Context, account, service string) ([]iam.RoleUsage, error) {
		if service != iam.CustomKeyStoresService {
			return nil, nil
		}
		var out []iam.RoleUsage
		for region, ids := range k.CustomKeyStoreUsage(account) {
			sort.Strings(ids)
			out = append(out, iam.RoleUsage{Region: region, Resources: ids})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Region < out[j].Region })
		return out, nil
	}
}
