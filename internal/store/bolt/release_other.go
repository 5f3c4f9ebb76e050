//go:build !linux

package bolt

import "go.etcd.io/bbolt"

// ReleasePages does nothing here: only Linux's madvise is used.
func (d *DB) ReleasePages() {}

func (d *DB) releaseMapped(*bbolt.Tx) {}
