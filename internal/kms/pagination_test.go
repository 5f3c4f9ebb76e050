package kms

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// pager lists one page from a marker with a limit, and gives the names on
// it, whether it is truncated, and the next marker.
type pager func(marker *string, limit int32) (names []string, truncated bool, next *string, err error)

// walk pages through everything with limit, checking that Truncated and
// NextMarker agree, and returns the names in order and the page sizes.
func walk(t *testing.T, list pager, limit int32) (names []string, sizes []int) {
	t.Helper()
	var marker *string
	for range 100 {
		got, truncated, next, err := list(marker, limit)
		if err != nil {
			t.Fatal(err)
		}
		names, sizes = append(names, got...), append(sizes, len(got))
		if truncated != (next != nil) {
			t.Fatalf("Truncated %v with NextMarker %v", truncated, next)
		}
		if !truncated {
			return names, sizes
		}
		marker = next
	}
	t.Fatal("a listing that never ends")
	return nil, nil
}

// The List operations page with Limit and Marker (their API references):
// every item once, in a stable order, Truncated and NextMarker on every page
// but the last, and a marker that names nothing is InvalidMarkerException.
func TestListPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string
	for range 5 {
		ids = append(ids, *e.createKey(t).KeyId)
	}
	slices.Sort(ids)
	target := &ids[0]
	var aliases, tags []string
	var kv []string
	for i := range 5 {
		name := fmt.Sprintf("alias/a%d", i)
		aliases = append(aliases, name)
		if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(name), TargetKeyId: target}); err != nil {
			t.Fatal(err)
		}
		// Tags list in the order they were added, not by key.
		k := fmt.Sprintf("t%d", 4-i)
		tags = append(tags, k)
		kv = append(kv, k, "v")
	}
	if _, err := e.s.TagResource(ctx, e.caller, &kmsapi.TagResourceRequest{KeyId: target, Tags: tagList(kv...)}); err != nil {
		t.Fatal(err)
	}
	var grants []string
	for range 5 {
		g, err := e.s.CreateGrant(ctx, e.caller, &kmsapi.CreateGrantRequest{KeyId: target, GranteePrincipal: wire.Ptr("arn:aws:iam::111122223333:user/g"), Operations: []string{"Encrypt"}})
		if err != nil {
			t.Fatal(err)
		}
		grants = append(grants, *g.GrantId)
	}
	slices.Sort(grants)

	lists := map[string]struct {
		list pager
		want []string
	}{
		"ListKeys": {func(m *string, l int32) ([]string, bool, *string, error) {
			out, err := e.s.ListKeys(ctx, e.caller, &kmsapi.ListKeysRequest{Marker: m, Limit: &l})
			if err != nil {
				return nil, false, nil, err
			}
			var n []string
			for _, k := range out.Keys {
				n = append(n, *k.KeyId)
			}
			return n, wire.Bool(out.Truncated), out.NextMarker, nil
		}, ids},
		"ListAliases": {func(m *string, l int32) ([]string, bool, *string, error) {
			out, err := e.s.ListAliases(ctx, e.caller, &kmsapi.ListAliasesRequest{KeyId: target, Marker: m, Limit: &l})
			if err != nil {
				return nil, false, nil, err
			}
			var n []string
			for _, a := range out.Aliases {
				n = append(n, *a.AliasName)
			}
			return n, wire.Bool(out.Truncated), out.NextMarker, nil
		}, aliases},
		"ListResourceTags": {func(m *string, l int32) ([]string, bool, *string, error) {
			out, err := e.s.ListResourceTags(ctx, e.caller, &kmsapi.ListResourceTagsRequest{KeyId: target, Marker: m, Limit: &l})
			if err != nil {
				return nil, false, nil, err
			}
			var n []string
			for _, tg := range out.Tags {
				n = append(n, *tg.TagKey)
			}
			return n, wire.Bool(out.Truncated), out.NextMarker, nil
		}, tags},
		"ListGrants": {func(m *string, l int32) ([]string, bool, *string, error) {
			out, err := e.s.ListGrants(ctx, e.caller, &kmsapi.ListGrantsRequest{KeyId: target, Marker: m, Limit: &l})
			if err != nil {
				return nil, false, nil, err
			}
			var n []string
			for _, g := range out.Grants {
				n = append(n, *g.GrantId)
			}
			return n, wire.Bool(out.Truncated), out.NextMarker, nil
		}, grants},
	}
	for name, l := range lists {
		t.Run(name, func(t *testing.T) {
			for _, tt := range []struct {
				limit int32
				sizes []int
			}{{2, []int{2, 2, 1}}, {5, []int{5}}, {1, []int{1, 1, 1, 1, 1}}, {100, []int{5}}} {
				got, sizes := walk(t, l.list, tt.limit)
				// ListKeys also lists the other tests' keys: none here.
				if !slices.Equal(got, l.want) || !slices.Equal(sizes, tt.sizes) {
					t.Fatalf("limit %d: %v in pages of %v, want %v in pages of %v", tt.limit, got, sizes, l.want, tt.sizes)
				}
			}
			_, _, _, err := l.list(wire.Ptr("not-a-marker"), 2)
			wantWireError(t, err, "InvalidMarkerException", "Invalid marker")
		})
	}
}
