package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// readDir returns the event ids of every audit file in dir (rotated ones
// and the current one), failing on a file that does not begin with a header
// or holds a line that is not an event, and how many files there are.
func readDir(t *testing.T, dir string) (ids map[string]int, files int) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "audit*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string]int{}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			var e Event
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatalf("%s:%d: %v: %q", name, i+1, err, line)
			}
			if i == 0 {
				if e.EventName != headerName {
					t.Errorf("%s begins with %s, not the header", name, e.EventName)
				}
				continue
			}
			if e.TrentNode != "node-a" {
				t.Errorf("%s:%d: trentNode %q, want node-a", name, i+1, e.TrentNode)
			}
			ids[e.EventID]++
		}
	}
	return ids, len(names)
}

// Events recorded from many goroutines while the file rotates by size and
// by Rotate (SIGHUP) are each in exactly one file: none lost, none twice.
func TestRotationLosesAndDuplicatesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l := openLog(t, path, Options{Node: "node-a", MaxBytes: 16 << 10, Gather: -1, QueueSize: 64})
	stop := run(l)
	const writers, each = 8, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				n := w*each + i
				e := encryptEvent(n, exampleKey, t0)
				e.EventID = fmt.Sprintf("ev-%d", n)
				l.Record(e)
			}
		}()
	}
	// SIGHUP meanwhile, as an operator (or logrotate) would send it.
	hups := make(chan struct{})
	go func() {
		defer close(hups)
		for range 20 {
			if err := l.Rotate(); err != nil {
				t.Errorf("Rotate: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	<-hups
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ids, files := readDir(t, dir)
	if len(ids) != writers*each {
		t.Errorf("%d distinct events in the files, want %d", len(ids), writers*each)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s written %d times", id, n)
		}
	}
	st := l.Stats()
	// About 2 MB of events in files of 16 KiB: far more rotations by size
	// than the 20 Rotate calls.
	if st.Rotated <= 20 || files != int(st.Rotated)+1 {
		t.Errorf("%d files, %d rotations; want more than the 20 Rotate calls, and one file more than rotations", files, st.Rotated)
	}
	if st.Written != writers*each {
		t.Errorf("Stats.Written = %d, want %d", st.Written, writers*each)
	}
}

// logrotate renames the file and sends SIGHUP: Rotate then only starts a new
// file at the path, leaving the renamed one as it is.
func TestRotateAfterRenameReopens(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l := openLog(t, path, Options{Node: "node-a", Gather: -1})
	stop := run(l)
	defer stop()
	l.Record(encryptEvent(1, exampleKey, t0))
	waitWritten(t, l, 1)
	moved := filepath.Join(dir, "audit.jsonl.1")
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if err := l.Rotate(); err != nil {
		t.Fatal(err)
	}
	l.Record(encryptEvent(2, exampleKey, t0))
	waitWritten(t, l, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(moved)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(old), `"ev-1"`) || strings.Contains(string(old), `"ev-2"`) ||
		!strings.Contains(string(cur), `"ev-2"`) || strings.Contains(string(cur), `"ev-1"`) {
		t.Errorf("renamed file:\n%s\nnew file:\n%s", old, cur)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "audit-*")); len(names) != 0 {
		t.Errorf("Rotate renamed a file that was already moved away: %v", names)
	}
}

// waitWritten waits until n events are durable.
func waitWritten(t *testing.T, l *Log, n uint64) {
	t.Helper()
	for l.Stats().Written < n {
		time.Sleep(time.Millisecond) // polls; the test's timeout bounds it
	}
}
