package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func openLog(t testing.TB, path string, o Options) *Log {
	t.Helper()
	if o.Now == nil {
		o.Now = fixedNow(t0)
	}
	l, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// run starts Run and returns a function that stops it and reports its error.
func run(l *Log) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- l.Run(ctx) }()
	return func() error {
		cancel()
		err := <-errc
		if err == context.Canceled {
			return nil
		}
		return err
	}
}

func encryptEvent(i int, keyARN string, at time.Time) *Event {
	return NewEvent(Call{
		Time: at, RequestID: fmt.Sprintf("req-%d", i), Service: "kms", Operation: "Encrypt", Region: "us-west-2",
		Identity: alice, EventID: fmt.Sprintf("ev-%d", i),
		RequestParameters: requestParams("Encrypt", []byte(`{"KeyId":"`+keyARN+`","Plaintext":"c2VjcmV0"}`)),
		Resources:         []string{keyARN},
	})
}

// readLog returns the file's lines as events, failing on any line that is
// not one.
func readLog(t *testing.T, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d is not an event: %v: %q", len(out)+1, err, sc.Text())
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewFileHasHeaderAndMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{Now: fixedNow(t0.Add(90 * time.Second))})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	evs := readLog(t, path)
	if len(evs) != 1 || evs[0].EventType != headerType || evs[0].EventName != headerName || evs[0].EventTime != "2026-01-01T00:01:30Z" {
		t.Fatalf("file = %+v, want only the header dated 2026-01-01T00:01:30Z", evs)
	}
	// Reopening, later, keeps the file's start.
	l = openLog(t, path, Options{Now: fixedNow(t0.Add(48 * time.Hour))})
	defer l.Close()
	if want := t0.Add(90 * time.Second); !l.TrackingStart().Equal(want) {
		t.Errorf("TrackingStart after reopening = %v, want %v", l.TrackingStart(), want)
	}
}

// Record returns while the writer is stuck (a slow disk): the queue absorbs
// the burst, and every event is written once the disk is back.
func TestRecordDoesNotWaitForASlowWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{QueueSize: 4096})
	stop := run(l)
	l.wmu.Lock() // the writer is now stuck as if in a long write or fsync
	const n = 4000
	for i := range n {
		l.Record(encryptEvent(i, exampleKey, t0))
	}
	if s := l.Stats(); s.Waits != 0 || s.Written != 0 || s.Recorded != n {
		t.Fatalf("Stats with the writer stuck = %+v, want %d recorded, none written, no waits", s, n)
	}
	l.wmu.Unlock()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if evs := readLog(t, path); len(evs) != n+1 {
		t.Fatalf("%d lines, want the header and %d events", len(evs), n)
	}
}

// One round of the writer covers everything queued with one fsync.
func TestGroupCommit(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "audit.jsonl"), Options{})
	defer l.Close()
	for i := range 100 {
		l.Record(encryptEvent(i, exampleKey, t0))
	}
	n, err := l.flush(context.Background())
	if err != nil || n != 100 {
		t.Fatalf("flush = %d, %v; want 100 events", n, err)
	}
	if s := l.Stats(); s.Syncs != 1 || s.Written != 100 {
		t.Fatalf("Stats = %+v, want 100 events written with 1 fsync", s)
	}
}

// When the queue is full, Record waits for the writer instead of dropping.
func TestFullQueueWaitsAndDropsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{QueueSize: 2})
	l.Record(encryptEvent(0, exampleKey, t0))
	l.Record(encryptEvent(1, exampleKey, t0))
	done := make(chan struct{})
	go func() { l.Record(encryptEvent(2, exampleKey, t0)); close(done) }()
	for waiting := 0; waiting == 0; {
		runtime.Gosched()
		l.mu.Lock()
		waiting = l.waiting
		l.mu.Unlock()
	}
	select {
	case <-done:
		t.Fatal("Record returned with the queue full")
	default:
	}
	if _, err := l.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Waits != 1 || s.Dropped != 0 || s.Written != 3 {
		t.Fatalf("Stats = %+v, want 1 wait, nothing dropped, 3 written", s)
	}
	if evs := readLog(t, path); len(evs) != 4 {
		t.Fatalf("%d lines, want the header and 3 events", len(evs))
	}
}

// Close waits for Records waiting on a full queue, and writes their events.
func TestCloseWritesWaitingRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{QueueSize: 1})
	l.Record(encryptEvent(0, exampleKey, t0))
	var wg sync.WaitGroup
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); l.Record(encryptEvent(i, exampleKey, t0)) }()
	}
	for waiting := 0; waiting < 3; {
		runtime.Gosched()
		l.mu.Lock()
		waiting = l.waiting
		l.mu.Unlock()
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if evs := readLog(t, path); len(evs) != 5 {
		t.Fatalf("%d lines, want the header and 4 events", len(evs))
	}
	l.Record(encryptEvent(9, exampleKey, t0))
	if s := l.Stats(); s.Dropped != 1 {
		t.Fatalf("Dropped after a Record after Close = %d, want 1", s.Dropped)
	}
}

// Every event recorded before Close is in the file after it, once, whether
// Run wrote it or Close did: Run stops mid-stream, Close writes the rest.
func TestEveryRecordedEventIsWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	const writers, each = 8, 300
	l := openLog(t, path, Options{QueueSize: writers * each})
	stop := run(l)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Record(encryptEvent(w*each+i, exampleKey, t0))
				if w == 0 && i == each/2 {
					if err := stop(); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range readLog(t, path)[1:] {
		seen[e.EventID]++
	}
	for i := range writers * each {
		if n := seen[fmt.Sprintf("ev-%d", i)]; n != 1 {
			t.Fatalf("event ev-%d written %d times", i, n)
		}
	}
	if len(seen) != writers*each {
		t.Fatalf("%d events written, want %d", len(seen), writers*each)
	}
	if s := l.Stats(); s.Written != writers*each || s.Syncs > s.Written || s.Dropped != 0 {
		t.Fatalf("Stats = %+v", s)
	}
}

// Close while Run is running: Run returns nil, and everything is written.
func TestCloseWhileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- l.Run(ctx) }()
	for i := range 500 {
		l.Record(encryptEvent(i, exampleKey, t0))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Run after Close = %v, want nil", err)
	}
	if evs := readLog(t, path); len(evs) != 501 {
		t.Fatalf("%d lines, want the header and 500 events", len(evs))
	}
}

func TestLastUsage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	src := "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	dst := "arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	l := openLog(t, path, Options{})
	record := func(op, errCode string, at time.Time, id string, keys ...string) {
		l.Record(NewEvent(Call{Time: at, RequestID: "r-" + id, EventID: id, Service: "kms", Operation: op, Region: "us-west-2", Identity: alice, ErrorCode: errCode, Resources: keys}))
	}
	record("Encrypt", "", t0.Add(1*time.Minute), "e1", src)
	record("ReEncrypt", "", t0.Add(2*time.Minute), "e2", src, dst)
	record("Decrypt", "IncorrectKeyException", t0.Add(3*time.Minute), "e3", src) // failed: not a use
	record("DescribeKey", "", t0.Add(4*time.Minute), "e4", dst)                  // not cryptographic
	record("Sign", "", t0.Add(5*time.Minute), "e5", dst)
	record("Verify", "", t0.Add(30*time.Second), "e6", dst) // older than what is known: ignored

	check := func(l *Log) {
		t.Helper()
		for _, tt := range []struct {
			key, op, id string
			at          time.Time
		}{
			{key: src, op: "ReEncrypt", id: "e2", at: t0.Add(2 * time.Minute)},
			{key: dst, op: "Sign", id: "e5", at: t0.Add(5 * time.Minute)},
		} {
			u, ok := l.LastUsage(tt.key)
			if !ok || u.Operation != tt.op || u.EventID != tt.id || u.RequestID != "r-"+tt.id || !u.Time.Equal(tt.at) {
				t.Errorf("LastUsage(%s) = %+v, %v; want %s %s at %v", tt.key, u, ok, tt.op, tt.id, tt.at)
			}
		}
		if u, ok := l.LastUsage("arn:aws:kms:us-west-2:111122223333:key/unused"); ok {
			t.Errorf("LastUsage of an unused key = %+v", u)
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, path, Options{Now: fixedNow(t0.Add(time.Hour))})
	defer l.Close()
	check(l)
	if !l.TrackingStart().Equal(t0) {
		t.Errorf("TrackingStart after reopening = %v, want %v", l.TrackingStart(), t0)
	}
}

// A line cut short by a crash is skipped, and the next event starts on its
// own line.
func TestTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{})
	l.Record(encryptEvent(1, exampleKey, t0.Add(time.Minute)))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"eventVersion":"1.08","eventName":"Encrypt","eventTime":"2026-01-01T00:09:00Z","resou`)
	f.Close()

	l = openLog(t, path, Options{})
	if u, _ := l.LastUsage(exampleKey); u.EventID != "ev-1" {
		t.Errorf("LastUsage after a torn line = %+v, want ev-1", u)
	}
	l.Record(encryptEvent(2, exampleKey, t0.Add(2*time.Minute)))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var ids []string
	for line := range splitLines(b) {
		var e Event
		if json.Unmarshal(line, &e) == nil {
			ids = append(ids, e.EventID)
		}
	}
	if len(ids) != 3 || ids[1] != "ev-1" || ids[2] != "ev-2" {
		t.Fatalf("readable events = %v, want the header, ev-1 and ev-2", ids)
	}
}

func splitLines(b []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if !yield(sc.Bytes()) {
				return
			}
		}
	}
}

// The file holds no secret of the requests it records.
func TestFileHoldsNoSecret(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{})
	body := []byte(`{"KeyId":"` + exampleKey + `","Plaintext":"UExBSU5URVhUU0VDUkVU","GrantTokens":["GRANTTOKENSECRET"]}`)
	l.Record(NewEvent(Call{Time: t0, Service: "kms", Operation: "Encrypt", Identity: alice, RequestParameters: requestParams("Encrypt", body), Resources: []string{exampleKey}}))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, s := range []string{"UExBSU5URVhUU0VDUkVU", "PLAINTEXTSECRET", "GRANTTOKENSECRET"} {
		if bytes.Contains(b, []byte(s)) {
			t.Fatalf("the audit file holds %q", s)
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	l := openLog(b, filepath.Join(b.TempDir(), "audit.jsonl"), Options{})
	stop := run(l)
	e := encryptEvent(0, exampleKey, t0)
	b.ReportAllocs()
	for b.Loop() {
		c := *e // the log owns (and reuses) what it records
		l.Record(&c)
	}
	b.StopTimer()
	stop()
	l.Close()
}

// BenchmarkEncryptEvent is the server's whole cost per request: parameters,
// event and Record.
func BenchmarkEncryptEvent(b *testing.B) {
	l := openLog(b, filepath.Join(b.TempDir(), "audit.jsonl"), Options{})
	stop := run(l)
	// The server has the decoded request already: the operation used it.
	req := decodeRequest("Encrypt", []byte(`{"KeyId":"`+exampleKey+`","Plaintext":"c2VjcmV0","EncryptionContext":{"Department":"Engineering"}}`))
	resources := []string{exampleKey}
	b.ReportAllocs()
	for b.Loop() {
		l.Record(NewEvent(Call{
			Time: t0, RequestID: "f3423043-63bc-11e4-bc2b-4198b6150d5c", Service: "kms", Operation: "Encrypt", Region: "us-west-2",
			Identity: alice, KMSRequest: req, Resources: resources,
		}))
	}
	b.StopTimer()
	stop()
	l.Close()
}

// A failed write loses nothing: what was encoded is written by the next
// write (here Close's) once the file takes writes again.
func TestFailedWriteIsRetried(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{})
	for i := range 3 {
		l.Record(encryptEvent(i, exampleKey, t0))
	}
	good := l.f
	ro, err := os.Open(path) // writes to it fail
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	l.f = ro
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // give up at the first failure instead of backing off
	if _, err := l.flush(ctx); err == nil {
		t.Fatal("flush to a read-only file succeeded")
	}
	if s := l.Stats(); s.Written != 0 {
		t.Fatalf("Written after a failed write = %d", s.Written)
	}
	l.f = good
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if evs := readLog(t, path); len(evs) != 4 {
		t.Fatalf("%d lines, want the header and 3 events", len(evs))
	}
	if s := l.Stats(); s.Written != 3 || s.Syncs != 1 {
		t.Fatalf("Stats = %+v, want 3 written with 1 fsync", s)
	}
}

// Reopening skips untracked events undecoded by their eventName; a
// client's encryption context that holds an "eventName" member does not
// fool it, since the event's own name comes first in every line.
func TestReopenSkipsByEventName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openLog(t, path, Options{})
	req := decodeRequest("Encrypt", []byte(`{"KeyId":"k","Plaintext":"c2VjcmV0","EncryptionContext":{"eventName":"DescribeKey"}}`))
	l.Record(NewEvent(Call{Time: t0.Add(time.Minute), EventID: "enc", Service: "kms", Operation: "Encrypt", Identity: alice,
		RequestParameters: KMSRequestParameters(req, nil), Resources: []string{exampleKey}}))
	for i := range 50 {
		l.Record(NewEvent(Call{Time: t0.Add(2 * time.Minute), EventID: fmt.Sprint("ck-", i), Service: "kms", Operation: "CreateKey", Identity: alice,
			AdditionalEventData: map[string]any{"eventName": "Encrypt"}, Resources: []string{exampleKey}}))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, path, Options{})
	defer l.Close()
	if u, ok := l.LastUsage(exampleKey); !ok || u.EventID != "enc" || u.Operation != "Encrypt" {
		t.Fatalf("LastUsage after reopening = %+v, %v; want the Encrypt", u, ok)
	}
	if !skippable([]byte(`{"eventVersion":"1.08","eventName":"CreateKey","x":1}`+"\n")) || skippable([]byte(`{"eventName":"Encrypt"}`+"\n")) ||
		skippable([]byte(`{"eventName":"CreateKey"`)) {
		t.Fatal("skippable misjudges a line")
	}
}

// The queue's chunks hold the lines back to back, in order, whether a line
// fits the last chunk, needs a new one, or is longer than a chunk.
func TestQueueChunks(t *testing.T) {
	var q [][]byte
	var want []byte
	for i, n := range []int{10, chunkSize - 20, 30, chunkSize, 1, 3 * chunkSize, 5} {
		line := bytes.Repeat([]byte{'a' + byte(i)}, n)
		q = appendLine(q, line)
		want = append(want, line...)
	}
	if got := bytes.Join(q, nil); !bytes.Equal(got, want) {
		t.Fatalf("chunks hold %d bytes, want the %d appended, in order", len(got), len(want))
	}
	for i, c := range q {
		if len(c) > chunkSize && len(c) != 3*chunkSize {
			t.Errorf("chunk %d: %d bytes", i, len(c))
		}
	}
	// 10 and chunkSize-20 share one; 30, chunkSize, 1, the long line and
	// 5 take one each.
	if len(q) != 6 {
		t.Errorf("%d chunks, want 6", len(q))
	}
}
