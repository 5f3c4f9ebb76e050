package bolt

import (
	"errors"
	"path/filepath"
	"testing"
)

// A file another user holds is reported as locked, not as bbolt's bare
// "timeout", so that trent serve can say the data directory is in use.
func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trent.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if second, err := Open(path); !errors.Is(err, ErrLocked) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}
