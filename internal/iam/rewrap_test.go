package iam

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// VisitSealed finds the sealed secret of an access key and the secret and
// token of a session, with their associated data, and changes no other
// field; other records are not its.
func TestVisitSealed(t *testing.T) {
	ak, _ := json.Marshal(accessKeyRecord{AccessKeyID: "AKIAEXAMPLE", Account: "111122223333", UserName: "alice", UserID: "AIDAEXAMPLE", Status: "Active", Created: time.Unix(1, 0).UTC(), Secret: []byte("s")})
	se, _ := json.Marshal(sessionRecord{AccessKeyID: "ASIAEXAMPLE", Account: "111122223333", Secret: []byte("s"), Token: []byte("t"), Expiration: time.Unix(2, 0).UTC(), RoleName: "r", Tags: []Tag{{Key: "k", Value: "v"}}})
	mfa, _ := json.Marshal(MFADevice{Name: "Alice-Phone", Path: "/team/", Created: time.Unix(3, 0).UTC(), Seed: []byte("seed"), UserName: "alice", UserID: "AIDAEXAMPLE", Enabled: time.Unix(4, 0).UTC(), LastStep: 7, Drift: 1})
	for _, tt := range []struct {
		key   string
		value []byte
		ads   []string
		blobs []string
	}{
		{accessKeysPrefix + "AKIAEXAMPLE", ak, []string{string(secretAAD("AKIAEXAMPLE"))}, []string{"secret"}},
		{fedKey("111122223333", mfaDir, "alice-phone"), mfa, []string{string(mfaSeedAAD("arn:aws:iam::111122223333:mfa/team/Alice-Phone"))}, []string{"seed"}},
		{sessionsPrefix + "ASIAEXAMPLE", se, []string{string(secretAAD("ASIAEXAMPLE")), string(tokenAAD("ASIAEXAMPLE"))}, []string{"secret", "token"}},
	} {
		var ads []string
		out, ok, err := VisitSealed(tt.key, tt.value, func(sealed, ad []byte) ([]byte, error) {
			ads = append(ads, string(ad))
			return append([]byte("new "), sealed...), nil
		})
		if err != nil || !ok || !reflect.DeepEqual(ads, tt.ads) {
			t.Fatalf("%s: ok %v, err %v, associated data %q", tt.key, ok, err, ads)
		}
		var before, after map[string]any
		json.Unmarshal(tt.value, &before)
		json.Unmarshal(out, &after)
		var changed []string
		for k := range before {
			if !reflect.DeepEqual(before[k], after[k]) {
				changed = append(changed, k)
			}
		}
		if len(before) != len(after) || len(changed) != len(tt.blobs) {
			t.Fatalf("%s: fields changed: %v", tt.key, changed)
		}
		for _, k := range tt.blobs {
			if after[k] == before[k] {
				t.Fatalf("%s: %s was not replaced", tt.key, k)
			}
		}
	}
	for _, key := range []string{"acct/111122223333/iam/users/alice", "acct/111122223333/account", "acct/111122223333/kms/us-east-1/keys/k"} {
		if _, ok, err := VisitSealed(key, []byte(`{}`), func([]byte, []byte) ([]byte, error) { t.Fatal("called"); return nil, nil }); ok || err != nil {
			t.Fatalf("%s: ok %v, err %v", key, ok, err)
		}
	}
}
