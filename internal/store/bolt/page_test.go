package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/trentkms/trent/internal/store"
)

// Page walks a prefix in key order from after any key, and a store that is
// not a Pager gives the same pages through store.Page.
func TestPage(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var txn store.Txn
	for _, k := range []string{"a/1", "b/1", "b/2", "b/3", "b/30", "c/1"} {
		txn.Puts = append(txn.Puts, store.KV{Key: k, Value: []byte(k)})
	}
	if _, err := db.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{"", "", 100, "[a/1 b/1 b/2 b/3 b/30 c/1]"},
		{"", "", 2, "[a/1 b/1]"},
		{"", "b/1", 2, "[b/2 b/3]"},
		{"b/", "", 10, "[b/1 b/2 b/3 b/30]"},
		{"b/", "b/3", 10, "[b/30]"},
		{"b/", "b/30", 10, "[]"},
		{"b/", "a/9", 1, "[b/1]"},
		{"", "b/25", 10, "[b/3 b/30 c/1]"},
	} {
		for name, st := range map[string]store.Store{"bolt": db, "fallback": rangeOnly{db}} {
			kvs, err := store.Page(ctx, st, tt.prefix, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, kv := range kvs {
				keys = append(keys, kv.Key)
				if string(kv.Value) != kv.Key || kv.ModRev == 0 {
					t.Fatalf("%s: record %+v", name, kv)
				}
			}
			if got := fmt.Sprint(keys); got != tt.want && !(got == "[]" && tt.want == "[]") {
				t.Errorf("%s: Page(%q, %q, %d) = %s, want %s", name, tt.prefix, tt.after, tt.limit, got, tt.want)
			}
		}
	}
}

// rangeOnly hides DB's Pager.
type rangeOnly struct{ store.Store }
