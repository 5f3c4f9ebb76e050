package kms

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/store"
)

// Usage, Spec and Origin are enums in memory and their wire names in the
// stored record, which therefore reads as before.
func TestKeyRecordEnumsAreTextInTheRecord(t *testing.T) {
	rec := keyRecord{ID: "k", Account: "111122223333", Region: "us-east-1", State: Enabled, Usage: keys.UsageSignVerify, Spec: keys.SpecECCNISTP256, Origin: originExternal}
	b := marshal(rec)
	for _, want := range []string{`"usage":"SIGN_VERIFY"`, `"spec":"ECC_NIST_P256"`, `"origin":"EXTERNAL"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("record %s lacks %s", b, want)
		}
	}
	var back keyRecord
	if err := json.Unmarshal(b, &back); err != nil || back.Usage != rec.Usage || back.Spec != rec.Spec || back.Origin != rec.Origin {
		t.Fatalf("decoded %+v, %v", back, err)
	}
	if _, err := json.Marshal(keyRecord{}); err == nil {
		t.Fatal("a record without a spec, usage and origin marshals")
	}
}

// A key record whose spec, usage or origin is unknown or missing does not
// load: the key is absent rather than served with a spec of 0.
func TestKeyRecordWithUnknownSpecDoesNotLoad(t *testing.T) {
	e := newEnv(t)
	id := *e.createKey(t).KeyId
	kv, err := e.st.Get(t.Context(), keyPath(e.caller.Account, e.caller.Region, id))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ from, to string }{
		{`"spec":"SYMMETRIC_DEFAULT"`, `"spec":"RSA_1024"`},
		{`"spec":"SYMMETRIC_DEFAULT",`, ``},
		{`"usage":"ENCRYPT_DECRYPT"`, `"usage":"WRAP"`},
		{`"origin":"AWS_KMS"`, `"origin":"AWS_KMS2"`},
		{`"origin":"AWS_KMS",`, ``},
	} {
		v := newView(e.s)
		v.mu.Lock()
		v.put(store.KV{Key: kv.Key, Value: []byte(strings.Replace(string(kv.Value), bad.from, bad.to, 1)), ModRev: kv.ModRev})
		v.mu.Unlock()
		if v.testKey(e.caller.Region, id) != nil || len(v.keys) != 0 {
			t.Errorf("a record with %s instead of %s loaded", bad.to, bad.from)
		}
	}
	v := newView(e.s)
	v.mu.Lock()
	v.put(kv)
	v.mu.Unlock()
	if k := v.testKey(e.caller.Region, id); k == nil || k.spec() != keys.SpecSymmetricDefault {
		t.Fatal("the unchanged record does not load")
	}
}

// A stamp reads the times records hold and writes them as time.Time does;
// a time it cannot hold does not decode rather than wrapping.
func TestStampReadsAndWritesAsTime(t *testing.T) {
	for _, text := range []string{`"2026-03-01T12:34:56.123456789Z"`, `"2026-03-01T12:34:56Z"`, `"0001-01-01T00:00:00Z"`, `"2026-03-01T02:00:00+02:00"`} {
		var s stamp
		var want time.Time
		if err := json.Unmarshal([]byte(text), &s); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatal(err)
		}
		if !s.Time().Equal(want) || s.IsZero() != want.IsZero() {
			t.Errorf("%s read as %v", text, s.Time())
		}
		got, _ := json.Marshal(s)
		if w, _ := json.Marshal(want.UTC()); string(got) != string(w) {
			t.Errorf("%s written as %s, want %s", text, got, w)
		}
	}
	for _, text := range []string{`"9999-01-01T00:00:00Z"`, `"1600-01-01T00:00:00Z"`, `"now"`} {
		var s stamp
		if err := json.Unmarshal([]byte(text), &s); err == nil {
			t.Errorf("%s decoded as %v", text, s.Time())
		}
	}
}
