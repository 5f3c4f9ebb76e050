package etcd

import (
	"testing"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/store/storetest"
)

// Page walks a prefix in key order from after any key, inside the store's
// own prefix: keys of another prefix (another deployment) never show.
func TestPage(t *testing.T) {
	s := open(t, "mine/")
	other := open(t, "mine-too/")
	put(t, other, "a/0", "x")
	storetest.Page(t, s)
	var _ store.Pager = s
}
