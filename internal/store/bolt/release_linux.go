package bolt

import (
	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// ReleasePages drops this process's mappings of the file's pages (bbolt
// reads the file through a shared, read-only memory map). The pages stay
// in the kernel's page cache and map again when read: a load that read
// a few records on many pages (and the kernel's fault-around, which maps
// up to 16 neighbouring pages at each fault) no longer counts them in the
// process's resident memory.
func (d *DB) ReleasePages() {
	_ = d.db.View(func(tx *bbolt.Tx) error {
		d.releaseMapped(tx)
		return nil
	})
}

// releaseMapped is ReleasePages inside a transaction, which holds bbolt's
// map in place.
func (d *DB) releaseMapped(tx *bbolt.Tx) {
	if size := tx.Size(); size > 0 {
		// An error leaves the pages mapped, which is only memory.
		unix.Syscall(unix.SYS_MADVISE, d.db.Info().Data, uintptr(size), unix.MADV_DONTNEED)
	}
}
