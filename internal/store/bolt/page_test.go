package bolt

import (
	"path/filepath"
	"testing"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/storetest"
)

// Page walks a prefix in key order from after any key, and a store that is
// not a Pager gives the same pages through store.Page.
func TestPage(t *testing.T) {
	for name, hide := range map[string]bool{"bolt": false, "fallback": true} {
		t.Run(name, func(t *testing.T) {
			db, err := Open(filepath.Join(t.TempDir(), "trent.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var s store.Store = db
			if hide {
				s = rangeOnly{db}
			}
			storetest.Page(t, s)
		})
	}
	var _ store.Pager = (*DB)(nil)
}

// rangeOnly hides DB's Pager.
type rangeOnly struct{ store.Store }
