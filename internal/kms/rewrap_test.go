package kms

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/customkeystore"
)

// VisitSealed finds every sealed blob of the KMS records, with the
// associated data each is sealed with, and writes back what it is given
// without changing any other field; records without a blob are not its.
func TestVisitSealed(t *testing.T) {
	ks := customkeystore.Record{ID: "cks-1234567890abcdef0", Name: "x", Account: "111122223333", Region: "us-east-1", Type: "EXTERNAL_KEY_STORE",
		Created: time.Unix(1700000000, 0).UTC(), Password: []byte("pw"), State: customkeystore.Connected, XksEndpoint: "https://proxy", XksAccessKeyID: "AKIDXKS", XksSecret: []byte("xks")}
	for _, tt := range []struct {
		key   string
		value []byte
		ads   []string // the associated data of each blob, in order
	}{
		{tokenKeyPath, []byte("token key"), []string{tokenKeyAAD}},
		{materialPath("111122223333", "us-east-1", "k1", "m1"), marshal(materialRecord{Sealed: []byte("material"), Spec: "RSA_2048"}),
			[]string{string((*Service).materialAAD(nil, "111122223333", "us-east-1", "k1", "m1"))}},
		{customkeystore.Path("111122223333", "us-east-1", ks.ID), marshal(ks),
			[]string{string(customkeystore.PasswordAAD(ks.Account, ks.Region, ks.ID)), string(customkeystore.XKSSecretAAD(ks.Account, ks.Region, ks.ID))}},
	} {
		var ads []string
		out, ok, err := VisitSealed(tt.key, tt.value, func(sealed, ad []byte) ([]byte, error) {
			ads = append(ads, string(ad))
			return append([]byte("new "), sealed...), nil
		})
		if err != nil || !ok || !reflect.DeepEqual(ads, tt.ads) {
			t.Fatalf("%s: ok %v, err %v, associated data %q; want %q", tt.key, ok, err, ads, tt.ads)
		}
		if tt.key == tokenKeyPath {
			if string(out) != "new token key" {
				t.Fatalf("grant token key = %q", out)
			}
			continue
		}
		// Every field but the blobs is as it was.
		var before, after map[string]any
		json.Unmarshal(tt.value, &before)
		json.Unmarshal(out, &after)
		var changed []string
		for k := range before {
			if !reflect.DeepEqual(before[k], after[k]) {
				changed = append(changed, k)
			}
		}
		sort.Strings(changed)
		if len(before) != len(after) || (len(changed) != 1 && !reflect.DeepEqual(changed, []string{"password", "xksSecret"})) {
			t.Fatalf("%s: fields changed: %v\n%s\n%s", tt.key, changed, tt.value, out)
		}
	}
	for _, key := range []string{keyPath("111122223333", "us-east-1", "k1"), materialPath("111122223333", "us-east-1", "k2", "m1"), "iam/accesskeys/AKID"} {
		value := []byte(`{}`)
		if key == materialPath("111122223333", "us-east-1", "k2", "m1") {
			value = marshal(materialRecord{KeyStore: "cks-1"}) // in a token: no blob
		}
		if _, ok, err := VisitSealed(key, value, func([]byte, []byte) ([]byte, error) { t.Fatal("called"); return nil, nil }); ok || err != nil {
			t.Fatalf("%s: ok %v, err %v", key, ok, err)
		}
	}
}
