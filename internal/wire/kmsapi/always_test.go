package kmsapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// emptyLists are the zero values of the structures with a list that AWS
// sends even when empty, by the shape and member the model's paginators and
// examples name; TestEmptyListsSent checks that the table covers them all.
var emptyLists = map[string]any{
	"ListKeysResponse.Keys":                           &kmsapi.ListKeysResponse{},
	"ListAliasesResponse.Aliases":                     &kmsapi.ListAliasesResponse{},
	"ListGrantsResponse.Grants":                       &kmsapi.ListGrantsResponse{},
	"ListKeyPoliciesResponse.PolicyNames":             &kmsapi.ListKeyPoliciesResponse{},
	"ListResourceTagsResponse.Tags":                   &kmsapi.ListResourceTagsResponse{},
	"ListKeyRotationsResponse.Rotations":              &kmsapi.ListKeyRotationsResponse{},
	"DescribeCustomKeyStoresResponse.CustomKeyStores": &kmsapi.DescribeCustomKeyStoresResponse{},
	"MultiRegionConfiguration.ReplicaKeys":            &kmsapi.MultiRegionConfiguration{},
	"ReplicateKeyResponse.ReplicaTags":                &kmsapi.ReplicateKeyResponse{},
}

// TestEmptyListsSent checks that every list AWS sends when empty — the
// result key of each paginated operation (paginators-1.json) and each list
// a documented response shows as [] (examples-1.json) — is sent as [] by
// WriteJSON when it is nil, and that the other members stay omitted.
func TestEmptyListsSent(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "aws-models", "kms")
	want := map[string]bool{}
	var pag struct {
		Pagination map[string]struct {
			ResultKey string `json:"result_key"`
		} `json:"pagination"`
	}
	readJSON(t, filepath.Join(dir, "paginators-1.json"), &pag)
	for op, p := range pag.Pagination {
		want[kmsapi.Operations[op].Output+"."+p.ResultKey] = true
	}
	// The examples' empty lists, found by name: both are members of
	// structures whose shape name is the member's owner in the model.
	var ex struct {
		Examples map[string][]struct {
			Output map[string]any `json:"output"`
		} `json:"examples"`
	}
	readJSON(t, filepath.Join(dir, "examples-1.json"), &ex)
	owners := map[string]string{"ReplicaKeys": "MultiRegionConfiguration", "ReplicaTags": "ReplicateKeyResponse", "CustomKeyStores": "DescribeCustomKeyStoresResponse"}
	for op, es := range ex.Examples {
		for _, e := range es {
			walkEmpty(e.Output, func(member string) {
				owner, ok := owners[member]
				if !ok {
					t.Errorf("%s: example shows %s as [], which this test does not know", op, member)
				}
				want[owner+"."+member] = true
			})
		}
	}
	for k := range want {
		if emptyLists[k] == nil {
			t.Errorf("%s is sent when empty, but not in emptyLists", k)
		}
	}
	for k, v := range emptyLists {
		t.Run(k, func(t *testing.T) {
			if !want[k] {
				t.Fatalf("%s is in emptyLists, but neither a paginator nor an example says AWS sends it empty", k)
			}
			member := k[strings.Index(k, ".")+1:]
			w := httptest.NewRecorder()
			wire.WriteJSON(w, "id", v)
			var got map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("%s: %v", w.Body, err)
			}
			if string(got[member]) != "[]" || len(got) != 1 {
				t.Errorf("zero %T encodes as %s, want only %q: []", v, w.Body, member)
			}
		})
	}
}

// walkEmpty calls f with the name of each member of v that is an empty list.
func walkEmpty(v any, f func(member string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, mv := range v {
			if l, ok := mv.([]any); ok && len(l) == 0 {
				f(k)
			}
			walkEmpty(mv, f)
		}
	case []any:
		for _, e := range v {
			walkEmpty(e, f)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestEncoderKeepsMembers checks that a structure with an always-sent list
// keeps its other members, nested encoders and AWS's unescaped text.
func TestEncoderKeepsMembers(t *testing.T) {
	resp := &kmsapi.DescribeKeyResponse{KeyMetadata: &kmsapi.KeyMetadata{
		KeyId:       wire.Ptr("k"),
		Description: wire.Ptr("<a & b>"),
		MultiRegion: wire.Ptr(true),
		MultiRegionConfiguration: &kmsapi.MultiRegionConfiguration{
			MultiRegionKeyType: wire.Ptr("PRIMARY"),
			PrimaryKey:         &kmsapi.MultiRegionKey{Arn: wire.Ptr("arn:aws:kms:us-east-1:111122223333:key/mrk-1"), Region: wire.Ptr("us-east-1")},
		},
	}}
	w := httptest.NewRecorder()
	wire.WriteJSON(w, "id", resp)
	const want = `{"KeyMetadata":{"KeyId":"k","Description":"<a & b>","MultiRegion":true,"MultiRegionConfiguration":` +
		`{"MultiRegionKeyType":"PRIMARY","PrimaryKey":{"Arn":"arn:aws:kms:us-east-1:111122223333:key/mrk-1","Region":"us-east-1"},"ReplicaKeys":[]}}}`
	if got := w.Body.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	tags := &kmsapi.ListResourceTagsResponse{Tags: []kmsapi.Tag{{TagKey: wire.Ptr("a<b"), TagValue: wire.Ptr("c&d")}}, Truncated: wire.Ptr(false)}
	w = httptest.NewRecorder()
	wire.WriteJSON(w, "id", tags)
	if got := w.Body.String(); got != `{"Tags":[{"TagKey":"a<b","TagValue":"c&d"}],"Truncated":false}` {
		t.Errorf("got %s", got)
	}
}
