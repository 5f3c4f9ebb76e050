package kms

import (
	"context"
	"strings"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// maxTags is AWS's limit of tags on one KMS key.
const maxTags = 50

// checkTags merges add into have as TagResource does (a new value replaces an
// old one), with AWS's rules and TagException texts.
func checkTags(have []tag, add []kmsapi.Tag) ([]tag, error) {
	seen := make(map[string]bool, len(add))
	for _, t := range add {
		k := wire.String(t.TagKey)
		if seen[k] {
			return nil, kmsapi.NewTagException("Duplicate tag keys")
		}
		seen[k] = true
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return nil, kmsapi.NewTagException("Tags beginning with aws: are reserved")
		}
	}
	out := append([]tag(nil), have...)
	for _, t := range add {
		k, v := wire.String(t.TagKey), wire.String(t.TagValue)
		replaced := false
		for i := range out {
			if out[i].Key == k {
				out[i].Value, replaced = v, true
			}
		}
		if !replaced {
			out = append(out, tag{Key: k, Value: v})
		}
	}
	if len(out) > maxTags {
		return nil, kmsapi.NewTagException("Too many tags")
	}
	return out, nil
}

// TagResource adds or replaces tags on a key.
func (s *Service) TagResource(ctx context.Context, c Caller, in *kmsapi.TagResourceRequest) (Empty, error) {
	var cond []string
	for _, t := range in.Tags {
		cond = append(cond, "aws:RequestTag/"+wire.String(t.TagKey), wire.String(t.TagValue), "aws:TagKeys", wire.String(t.TagKey))
	}
	k, err := s.keyForOp(c, "TagResource", *in.KeyId, keyOnly, access{op: "TagResource", keys: cond})
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, k, func(r *keyRecord, _ *store.Txn) error {
		if err := checkKey(k.fresh(r), "TagResource"); err != nil {
			return err
		}
		tags, err := checkTags(r.Tags, in.Tags)
		r.Tags = tags
		return err
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// UntagResource removes tags from a key; keys it does not have are ignored.
func (s *Service) UntagResource(ctx context.Context, c Caller, in *kmsapi.UntagResourceRequest) (Empty, error) {
	var cond []string
	for _, tk := range in.TagKeys {
		cond = append(cond, "aws:TagKeys", tk)
	}
	k, err := s.keyForOp(c, "UntagResource", *in.KeyId, keyOnly, access{op: "UntagResource", keys: cond})
	if err != nil {
		return nil, err
	}
	err = s.update(ctx, k, func(r *keyRecord, _ *store.Txn) error {
		if err := checkKey(k.fresh(r), "UntagResource"); err != nil {
			return err
		}
		kept := r.Tags[:0]
		for _, t := range r.Tags {
			drop := false
			for _, rm := range in.TagKeys {
				drop = drop || rm == t.Key
			}
			if !drop {
				kept = append(kept, t)
			}
		}
		r.Tags = kept
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// ListResourceTags lists a key's tags in the order they were added.
func (s *Service) ListResourceTags(ctx context.Context, c Caller, in *kmsapi.ListResourceTagsRequest) (*kmsapi.ListResourceTagsResponse, error) {
	k, err := s.keyFor(c, *in.KeyId, keyOnly, access{op: "ListResourceTags"})
	if err != nil {
		return nil, err
	}
	got, next, err := page(k.rec.Tags, func(t tag) string { return t.Key }, nil, in.Limit, maxTags)
	if in.Marker != nil {
		// Tags keep insertion order, so the marker is a position.
		got, next, err = pageByKey(k.rec.Tags, *in.Marker, in.Limit)
	}
	if err != nil {
		return nil, err
	}
	out := &kmsapi.ListResourceTagsResponse{Truncated: wire.Ptr(next != nil), NextMarker: next}
	for _, t := range got {
		out.Tags = append(out.Tags, kmsapi.Tag{TagKey: wire.Ptr(t.Key), TagValue: wire.Ptr(t.Value)})
	}
	return out, nil
}

func pageByKey(tags []tag, marker string, limit *int32) ([]tag, *string, error) {
	for i, t := range tags {
		if t.Key == marker {
			return page(tags[i:], func(t tag) string { return t.Key }, nil, limit, maxTags)
		}
	}
	return nil, nil, kmsapi.NewInvalidMarkerException("Invalid marker")
}
