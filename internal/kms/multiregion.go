package kms

import (
	"fmt"
	"io"
	"sort"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Multi-Region keys (KMS Developer Guide: multi-region-keys-overview). A
// family is the keys of one account with the same mrk- id, one per Region;
// each member is an ordinary key record in its Region whose PrimaryRegion
// names the primary's Region. The shared properties (key spec, usage,
// origin, material and its rotation) are written to every member in one
// store transaction, so no node ever sees a family out of step.
//
// This deployment replicates only among the Regions it serves
// (Options.Regions); Regions served elsewhere need a peering protocol that
// does not exist yet.

const (
	mrkPrimary = "PRIMARY"
	mrkReplica = "REPLICA"
)

// newMultiRegionKeyID returns "mrk-" and 32 hex digits, the form of AWS's
// multi-Region key ids.
func (s *Service) newMultiRegionKeyID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("mrk-%x", b[:]), nil
}

// checkNewMultiRegion is CreateKey's check of MultiRegion true: keys in
// custom key stores cannot be multi-Region (CreateKey, MultiRegion).
func checkNewMultiRegion(origin string, inCustomKeyStore bool) error {
	switch {
	case inCustomKeyStore || origin == originCloudHSM || origin == originXKS:
		return kmsapi.NewUnsupportedOperationException("Multi-Region keys are not supported in custom key stores.")
	case origin == originExternal:
		// AWS allows them, with the same material imported into every
		// member; this server does not track that yet.
		return kmsapi.NewUnsupportedOperationException("Multi-Region keys with imported key material (Origin EXTERNAL) are not supported by this server yet.")
	}
	return nil
}

// multiRegionConfiguration describes k's family as DescribeKey shows it.
func (s *Service) multiRegionConfiguration(k *key) *kmsapi.MultiRegionConfiguration {
	r := &k.rec
	typ := mrkPrimary
	if r.replica() {
		typ = mrkReplica
	}
	out := &kmsapi.MultiRegionConfiguration{
		MultiRegionKeyType: wire.Ptr(typ),
		PrimaryKey:         &kmsapi.MultiRegionKey{Arn: wire.Ptr(arn.KeyARN(r.PrimaryRegion, r.Account, r.ID)), Region: wire.Ptr(r.PrimaryRegion)},
		ReplicaKeys:        []kmsapi.MultiRegionKey{},
	}
	fam := s.view.familyOf(k)
	regions := make([]string, 0, len(fam))
	for region := range fam {
		if region != r.PrimaryRegion {
			regions = append(regions, region)
		}
	}
	sort.Strings(regions)
	for _, region := range regions {
		out.ReplicaKeys = append(out.ReplicaKeys, kmsapi.MultiRegionKey{Arn: wire.Ptr(arn.KeyARN(region, r.Account, r.ID)), Region: wire.Ptr(region)})
	}
	return out
}

// MultiRegionKeyUsage returns the ARNs of an account's multi-Region keys by
// Region, for iam to refuse deleting their service-linked role.
func (s *Service) MultiRegionKeyUsage(account string) map[string][]string {
	out := map[string][]string{}
	for _, k := range s.view.multiRegionKeys(account) {
		out[k.rec.Region] = append(out[k.rec.Region], k.arn)
	}
	for _, arns := range out {
		sort.Strings(arns)
	}
	return out
}
