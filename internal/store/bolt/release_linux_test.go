package bolt

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/store"
)

// mappedKB is this process's resident memory of the mappings of path, in KiB.
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[5] == path
			continue
		}
		if in && len(fields) >= 2 && fields[0] == "Rss:" {
			n, _ := strconv.Atoi(fields[1])
			kb += n
		}
	}
	return kb
}

// A scan releases the pages behind it as it goes, ReleasePages the rest,
// and the records read the same after.
func TestReleasePages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trent.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val := strings.Repeat("v", 1000)
	const n = 40 * 500
	for i := range 40 {
		var puts []store.KV
		for j := range 500 {
			puts = append(puts, store.KV{Key: fmt.Sprintf("k/%05d", i*500+j), Value: []byte(val)})
		}
		if _, err := db.Txn(ctx, store.Txn{Puts: puts}); err != nil {
			t.Fatal(err)
		}
	}
	seen, atEnd := 0, 0
	_, err = db.Scan(ctx, "k/", nil, func(store.KV) error {
		if seen++; seen == n {
			atEnd = mappedKB(t, path)
		}
		return nil
	})
	if err != nil || seen != n {
		t.Fatalf("scan: %d records, %v", seen, err)
	}
	// 20 MB scanned; released after 16,384 records.
	if atEnd < 1000 || atEnd > 10000 {
		t.Fatalf("%d KiB mapped at the end of a scan of 20 MB", atEnd)
	}
	before := mappedKB(t, path)
	db.ReleasePages()
	if after := mappedKB(t, path); after > before/10 {
		t.Fatalf("%d KiB mapped after ReleasePages, %d before", after, before)
	}
	kv, err := db.Get(ctx, "k/04321")
	if err != nil || string(kv.Value) != val {
		t.Fatalf("Get after ReleasePages: %v", err)
	}
}

// Commits release the pages bbolt's writes mapped, every releaseCommits.
func TestCommitsReleasePages(t *testing.T) {
	defer func(n int) { releaseCommits = n }(releaseCommits)
	releaseCommits = 4
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "trent.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val := strings.Repeat("v", 1000)
	var mapped [16]int
	for i := range 16 {
		var puts []store.KV
		for j := range 1000 {
			// Keys spread over the file, as random key ids are.
			puts = append(puts, store.KV{Key: fmt.Sprintf("k/%05d", j*16+i), Value: []byte(val)})
		}
		if _, err := db.Txn(ctx, store.Txn{Puts: puts}); err != nil {
			t.Fatal(err)
		}
		mapped[i] = mappedKB(t, path)
	}
	// 16 MB written, each commit over all of the keys; released after the
	// 16th.
	if mapped[14] < 2000 || mapped[15] > mapped[14]/4 {
		t.Fatalf("%d KiB mapped after the 15th commit, %d after the 16th; want megabytes, then little", mapped[14], mapped[15])
	}
	kv, err := db.Get(ctx, "k/00321")
	if err != nil || string(kv.Value) != val {
		t.Fatalf("Get after the releases: %v", err)
	}
}
