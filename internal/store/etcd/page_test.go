package etcd

import (
	"fmt"
	"testing"

	"github.com/trentkms/trent/internal/store"
)

// Page walks a prefix in key order from after any key, inside the store's
// own prefix: keys of another prefix (another deployment) never show.
func TestPage(t *testing.T) {
	s := open(t, "mine/")
	other := open(t, "mine-too/")
	put(t, other, "a/0", "x")
	put(t, s, "a/1", "a/1", "b/1", "b/1", "b/2", "b/2", "b/3", "b/3", "b/30", "b/30", "c/1", "c/1")
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
		{"", "c/1", 10, "[]"},
	} {
		kvs, err := s.Page(ctxT(t), tt.prefix, tt.after, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		keys := []string{}
		for _, kv := range kvs {
			keys = append(keys, kv.Key)
			if string(kv.Value) != kv.Key || kv.ModRev == 0 {
				t.Fatalf("record %+v", kv)
			}
		}
		if got := fmt.Sprint(keys); got != tt.want {
			t.Errorf("Page(%q, %q, %d) = %s, want %s", tt.prefix, tt.after, tt.limit, got, tt.want)
		}
	}
	var _ store.Pager = s
}
