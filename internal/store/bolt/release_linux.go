package bolt

import (
	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/trentkms/trent/internal/store"
)

var _ store.PageReleaser = (*DB)(nil)

// ReleasePages drops this process's mappings of the file's pages (bbolt
// reads the file through a shared, read-only memory map). The pages stay
// in the kernel's page cache and map again when read: a load that read
// a few records on many pages (and the kernel's fault-around, which maps
// up to 16 neighbouring pages at each fault) no longer counts them in the
// process's resident memory. Done inside a read transaction, which holds
// bbolt's map in place.
func (d *DB) ReleasePages() {
	_ = d.db.View(func(tx *bbolt.Tx) error {
		size := tx.Size()
		if size <= 0 {
			return nil
		}
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, d.db.Info().Data, uintptr(size), unix.MADV_DONTNEED)
		if errno != 0 {
			return errno
		}
		return nil
	})
}
