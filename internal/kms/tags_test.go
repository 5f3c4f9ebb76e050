package kms

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// tagList is the request form of key=value pairs, in order.
func tagList(kv ...string) []kmsapi.Tag {
	var out []kmsapi.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, kmsapi.Tag{TagKey: wire.Ptr(kv[i]), TagValue: wire.Ptr(kv[i+1])})
	}
	return out
}

// tagsOf lists a key's tags as key=value, in ListResourceTags's order.
func (e *env) tagsOf(t *testing.T, id *string) []string {
	t.Helper()
	out, err := e.s.ListResourceTags(context.Background(), e.caller, &kmsapi.ListResourceTagsRequest{KeyId: id})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range out.Tags {
		got = append(got, wire.String(tg.TagKey)+"="+wire.String(tg.TagValue))
	}
	return got
}

// TagResource's rules, with the TagException texts AWS returns
// (../shared/conformance/aws-kms-error-messages.tsv: duplicate-tag-keys,
// invalid-tag-key): a request that breaks one changes nothing.
func TestTagResourceRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	md := e.createKey(t)
	tag := func(kv ...string) error {
		_, err := e.s.TagResource(ctx, e.caller, &kmsapi.TagResourceRequest{KeyId: md.KeyId, Tags: tagList(kv...)})
		return err
	}
	if err := tag("Env", "prod", "team", "a"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		kv   []string
		msg  string
	}{
		{"the same key twice in a request", []string{"x", "1", "x", "2"}, "Duplicate tag keys"},
		{"aws: is reserved", []string{"aws:owner", "me"}, "Tags beginning with aws: are reserved"},
		{"in any case", []string{"AWS:owner", "me"}, "Tags beginning with aws: are reserved"},
		{"beside an allowed tag", []string{"ok", "1", "Aws:x", "2"}, "Tags beginning with aws: are reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantWireError(t, tag(tt.kv...), "TagException", tt.msg)
			if got := e.tagsOf(t, md.KeyId); !slices.Equal(got, []string{"Env=prod", "team=a"}) {
				t.Fatalf("tags after a refused TagResource: %v", got)
			}
		})
	}
	// Keys are case-sensitive (tags-about.md): env is another tag than
	// Env, and a known key takes the new value in its place.
	if err := tag("env", "dev", "Env", "staging", "aws", "not a prefix", "x:aws:y", "z"); err != nil {
		t.Fatal(err)
	}
	want := []string{"Env=staging", "team=a", "env=dev", "aws=not a prefix", "x:aws:y=z"}
	if got := e.tagsOf(t, md.KeyId); !slices.Equal(got, want) {
		t.Fatalf("tags: %v, want %v", got, want)
	}
	// UntagResource matches keys exactly and ignores those the key lacks.
	if _, err := e.s.UntagResource(ctx, e.caller, &kmsapi.UntagResourceRequest{KeyId: md.KeyId, TagKeys: []string{"ENV", "env", "missing"}}); err != nil {
		t.Fatal(err)
	}
	want = []string{"Env=staging", "team=a", "aws=not a prefix", "x:aws:y=z"}
	if got := e.tagsOf(t, md.KeyId); !slices.Equal(got, want) {
		t.Fatalf("tags after UntagResource: %v, want %v", got, want)
	}
}

// A key has at most 50 tags (tags-about.md): replacing a value does not
// count, one more is "Too many tags" (AWS's text), and CreateKey applies
// the same rules as TagResource.
func TestTagsPerKeyLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var kv []string
	for i := range 50 {
		kv = append(kv, fmt.Sprintf("k%02d", i), "v")
	}
	out, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Tags: tagList(kv...)})
	if err != nil {
		t.Fatalf("CreateKey with 50 tags: %v", err)
	}
	id := out.KeyMetadata.KeyId
	tag := func(kv ...string) error {
		_, err := e.s.TagResource(ctx, e.caller, &kmsapi.TagResourceRequest{KeyId: id, Tags: tagList(kv...)})
		return err
	}
	if err := tag("k00", "new", "k49", "new"); err != nil {
		t.Fatalf("replacing values on a key with 50 tags: %v", err)
	}
	wantWireError(t, tag("k50", "v"), "TagException", "Too many tags")
	if got := e.tagsOf(t, id); len(got) != 50 || got[0] != "k00=new" || got[49] != "k49=new" {
		t.Fatalf("%d tags, first %q, last %q; want 50 with k00 and k49 replaced", len(got), got[0], got[len(got)-1])
	}
	// Room for one after removing one.
	if _, err := e.s.UntagResource(ctx, e.caller, &kmsapi.UntagResourceRequest{KeyId: id, TagKeys: []string{"k10"}}); err != nil {
		t.Fatal(err)
	}
	if err := tag("k50", "v"); err != nil {
		t.Fatalf("a 50th tag after UntagResource: %v", err)
	}

	before, err := e.s.ListKeys(ctx, e.caller, &kmsapi.ListKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		kv  []string
		msg string
	}{
		{append(slices.Clone(kv), "k50", "v"), "Too many tags"},
		{[]string{"aws:x", "v"}, "Tags beginning with aws: are reserved"},
		{[]string{"a", "1", "a", "1"}, "Duplicate tag keys"},
	} {
		_, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{Tags: tagList(tt.kv...)})
		wantWireError(t, err, "TagException", tt.msg)
	}
	after, err := e.s.ListKeys(ctx, e.caller, &kmsapi.ListKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Keys) != len(before.Keys) {
		t.Fatalf("refused CreateKey calls made keys: %d before, %d after", len(before.Keys), len(after.Keys))
	}
}
