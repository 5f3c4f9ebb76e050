package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options are the optional settings of a Log.
type Options struct {
	Now func() time.Time // nil: time.Now; dates the header of a new file
	// QueueSize bounds the events waiting to be written; Record waits for
	// room beyond it. 0: 65536 (at about 1 KiB an event, 64 MiB at most).
	QueueSize int
	Log       *slog.Logger // nil: slog.Default()
	// Gather is how long Run lets events gather after the first one arrives
	// before it writes and fsyncs them: a bound on how late an event reaches
	// the disk, traded for far fewer fsyncs under load. 0: 10 ms; negative:
	// no wait.
	Gather time.Duration
	// Node names the node that writes the log; Record puts it in every
	// event (trentNode), so that events gathered from several nodes say
	// which served them. Empty: left out.
	Node string
	// MaxBytes rotates the file once it reaches this size: it is renamed
	// with the time of rotation in its name and a new file begins (see
	// Rotate). 0: only Rotate rotates.
	MaxBytes int64
}

// DefaultQueueSize is the queue bound when Options.QueueSize is 0.
const DefaultQueueSize = 1 << 16

// Stats are a Log's counters since Open.
type Stats struct {
	Recorded uint64 // events accepted by Record
	Written  uint64 // events written and fsynced
	Syncs    uint64 // fsyncs (group commits)
	Waits    uint64 // Record calls that waited for room in a full queue
	Dropped  uint64 // events recorded after Close, not written
	Rotated  uint64 // files rotated
}

// Log is an append-only JSON-lines audit file and the last-usage index built
// from it.
type Log struct {
	f      *os.File
	stdout bool // f is standard output: never fsynced nor closed
	logger *slog.Logger
	max    int
	start  time.Time
	gather time.Duration
	node   string
	now    func() time.Time

	// path, size and maxBytes are for rotation; the writer (wmu) owns size
	// and f once the Log is open.
	path     string
	size     int64
	maxBytes int64

	// mu guards the queue; room signals Record that the queue has room, and
	// Close that waiting Records have queued. The queue is the events'
	// lines, encoded by Record, back to back in the chunks of pending:
	// pendingN of them.
	mu       sync.Mutex
	room     *sync.Cond
	pending  [][]byte
	pendingN int
	waiting  int  // Records waiting for room
	closed   bool // Close has begun: new Records are dropped
	kick     chan struct{}

	// wmu serialises writing (Run's batches, Close's final flush) and owns
	// spare, out and outEvents.
	wmu sync.Mutex
	// spare is the queue's other list of chunks: flush swaps it with
	// pending.
	spare [][]byte
	// out holds events encoded but not yet durable: the current batch, or
	// what a failed write left, which the next write sends first.
	out       bytes.Buffer
	outEvents int
	done      bool // the file is closed

	usage usageIndex

	recorded, written, syncs, waits, dropped, rotated atomic.Uint64
}

// Open opens the audit log at path, creating it (mode 0600, with its header)
// if it does not exist, and reads it to rebuild the last-usage index. The
// path "-" is standard output. Start Run to write what Record queues, and
// Close when done.
func Open(path string, o Options) (*Log, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	l := &Log{logger: o.Log, max: o.QueueSize, kick: make(chan struct{}, 1), gather: o.Gather, node: o.Node, now: now, path: path, maxBytes: o.MaxBytes}
	if l.gather == 0 {
		l.gather = 10 * time.Millisecond
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	if l.max <= 0 {
		l.max = DefaultQueueSize
	}
	l.room = sync.NewCond(&l.mu)
	l.usage.m, l.usage.dirty = map[string]Usage{}, map[string]Usage{}
	if path == "-" {
		l.f, l.stdout, l.start = os.Stdout, true, now().UTC().Truncate(time.Second)
		return l, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	l.f = f
	if err := l.load(now); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	return l, nil
}

// load reads the file: the header's date, the last usage of every key, and
// whether the last line is whole. A new (empty) file gets its header.
func (l *Log) load(now func() time.Time) error {
	if _, err := l.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(l.f, 1<<16)
	var (
		n        int
		size     int64
		torn     bool
		earliest time.Time
	)
	for {
		line, err := r.ReadBytes('\n')
		size += int64(len(line))
		if len(line) > 0 {
			torn = line[len(line)-1] != '\n'
			n++
		}
		// In a file this package wrote (it starts with the header), only
		// tracked operations matter: the others are skipped undecoded,
		// which makes opening a log of mostly management events (millions
		// of CreateKeys) several times faster.
		if !l.start.IsZero() && skippable(line) {
			continue
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var s scanned
			if jerr := json.Unmarshal(line, &s); jerr != nil {
				l.logger.Warn("audit: skipping an unreadable line", "line", n, "err", jerr)
			} else if t, perr := time.Parse(TimeLayout, s.EventTime); perr == nil {
				if n == 1 && s.EventType == headerType && s.EventName == headerName {
					l.start = t
				}
				if earliest.IsZero() || t.Before(earliest) {
					earliest = t
				}
				l.usage.note(s.EventName, s.ErrorCode, s.EventType, s.EventID, s.RequestID, t, s.Resources)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	l.size = size
	switch {
	case size == 0:
		// A new file: its header dates the start of tracking.
		l.start = now().UTC().Truncate(time.Second)
		n, err := l.writeHeader(l.f, l.start)
		if err != nil {
			return err
		}
		l.size = n
	case l.start.IsZero():
		// A file without the header (written by something else): tracking
		// started no later than its first event.
		l.start = earliest
		if l.start.IsZero() {
			l.start = now().UTC().Truncate(time.Second)
		}
	}
	if torn {
		// A crash cut the last event short; begin the next on its own line.
		if _, err := l.f.Write([]byte{'\n'}); err != nil {
			return err
		}
		l.size++
	}
	return nil
}

// writeHeader writes a new file's header dated t, durably, and returns its
// size.
func (l *Log) writeHeader(f *os.File, t time.Time) (int64, error) {
	h := header(t)
	h.TrentNode = l.node
	b, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	syncDir(filepath.Dir(f.Name()))
	return int64(len(b)) + 1, nil
}

// eventNameTag precedes an event's name. In the lines this package writes
// (its encoder and encoding/json alike) eventName comes before any field
// that may hold client-chosen keys (requestParameters and after), and a
// quote inside a string is escaped, so the first such tag is the event's.
var eventNameTag = []byte(`,"eventName":"`)

// skippable reports whether a line is a whole event of an operation the
// usage index does not track.
func skippable(line []byte) bool {
	if len(line) == 0 || line[len(line)-1] != '\n' {
		return false // the torn last line: decode it to warn about it
	}
	i := bytes.Index(line, eventNameTag)
	if i < 0 {
		return false
	}
	name := line[i+len(eventNameTag):]
	j := bytes.IndexByte(name, '"')
	if j < 0 || bytes.IndexByte(name[:j], '\\') >= 0 {
		return false
	}
	return !tracked[string(name[:j])]
}

// syncDir makes a new file's directory entry durable; where that is not
// possible the file is still written.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

const (
	headerType = "AwsServiceEvent"
	headerName = "StartAuditLog"
)

// header is the first line of a new file: when key usage tracking began.
func header(t time.Time) *Event {
	return &Event{
		EventVersion:        "1.08",
		UserIdentity:        UserIdentity{InvokedBy: "trent"},
		EventTime:           t.Format(TimeLayout),
		EventSource:         "kms.amazonaws.com",
		EventName:           headerName,
		EventID:             NewUUID(),
		EventType:           headerType,
		ManagementEvent:     true,
		EventCategory:       "Management",
		ServiceEventDetails: map[string]any{"trackingStartDate": t.Format(TimeLayout)},
	}
}

// scanned is what Open reads of each event.
type scanned struct {
	EventTime string     `json:"eventTime"`
	EventName string     `json:"eventName"`
	EventType string     `json:"eventType"`
	ErrorCode string     `json:"errorCode"`
	EventID   string     `json:"eventID"`
	RequestID string     `json:"requestID"`
	Resources []Resource `json:"resources"`
}

// Record encodes an event, queues its line to be written and updates the
// last-usage index. It does no I/O. It returns at once unless the queue is
// full, and then waits for Run to make room: events are never dropped while
// the log is open (see the package doc). After Close it drops the event and
// counts it. Record takes ownership of e: an event from NewEvent is reused
// for other events once encoded, so the caller must not touch e after
// Record, nor record it twice.
//
// The line is encoded here, in the request's goroutine, rather than by the
// writer: the event is read where it was just written and goes back to
// NewEvent's pool on the same processor, and the writer only copies bytes.
func (l *Log) Record(e *Event) {
	e.TrentNode = l.node
	le := lineEncoders.Get().(*lineEncoder)
	line := l.encodeLine(le, e)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.dropped.Add(1)
		l.logger.Warn("audit: event recorded after Close, not written", "eventName", e.EventName, "requestID", e.RequestID)
		le.put(line)
		return
	}
	if l.pendingN >= l.max {
		l.waits.Add(1)
		l.waiting++
		for l.pendingN >= l.max && !l.closed {
			l.room.Wait()
		}
		l.waiting--
		if l.waiting == 0 {
			l.room.Broadcast() // Close may be waiting for the waiters
		}
		// Once closed, a waiter still queues: Close writes it.
	}
	// Noted under the lock that orders the lines, so that the index and the
	// file agree on which use came last.
	if tracked[e.EventName] {
		t := e.at
		if t.IsZero() {
			// An event whose time does not parse stays zero, and note
			// leaves zero-time events out of the usage index.
			t, _ = time.Parse(TimeLayout, e.EventTime)
		}
		l.usage.note(e.EventName, e.ErrorCode, e.EventType, e.EventID, e.RequestID, t, e.Resources)
	}
	l.pending = appendLine(l.pending, line)
	l.pendingN++
	l.mu.Unlock()
	le.put(line)
	recycle(e)
	l.recorded.Add(1)
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// lineEncoder is an encoder and the buffer it writes a line into, reused
// by Record across events.
type lineEncoder struct {
	enc  encoder
	line []byte
	json bytes.Buffer // what encoding/json writes (encodeLine)
}

var lineEncoders = sync.Pool{New: func() any { return new(lineEncoder) }}

// put keeps line's array for the next event unless a large event grew it,
// and returns le to the pool.
func (le *lineEncoder) put(line []byte) {
	if cap(line) <= maxLineBuffer {
		le.line = line[:0]
	} else {
		le.line = nil
	}
	le.json.Reset()
	lineEncoders.Put(le)
}

// encodeLine encodes e as one JSON line in le's buffer. What the encoder
// does not write exactly as encoding/json would (errNeedsJSON), encoding/json
// writes.
func (l *Log) encodeLine(le *lineEncoder, e *Event) []byte {
	line, err := le.enc.appendEvent(le.line[:0], e)
	if err == nil {
		return line
	}
	enc := json.NewEncoder(&le.json)
	enc.SetEscapeHTML(false)
	// encoding/json sees only exported fields.
	e.AdditionalEventData = e.additionalData()
	if err := enc.Encode(e); err != nil {
		// Only an unencodable value (a NaN in additionalEventData) gets
		// here, and Encode wrote nothing: the event is written without
		// its extra data.
		l.logger.Error("audit: event not encodable", "eventID", e.EventID, "err", err)
		c := *e
		c.AdditionalEventData, c.ResponseElements = map[string]any{"encodingError": err.Error()}, nil
		enc.Encode(&c)
	}
	return append(line[:0], le.json.Bytes()...)
}

// Run writes queued events until ctx ends or Close is called: each round
// takes everything queued, writes it and fsyncs once (group commit). A write
// error is logged and retried with backoff, keeping the batch; an fsync
// error ends Run (see the package doc). Run returns ctx.Err() when ctx ends,
// nil after Close; events queued then are written by Close.
func (l *Log) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.kick:
		}
		// Let a batch gather before paying for its fsync: under load one
		// fsync then covers many events. Nobody waits on it (events are
		// recorded after their response), so this costs no latency.
		if l.gather > 0 {
			t := time.NewTimer(l.gather)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		// One flush per gathering: events that arrive meanwhile have kicked
		// again and wait for the next gathering, so under steady load every
		// fsync covers a whole gathering interval of events.
		_, err := l.flush(ctx)
		switch {
		case errors.Is(err, errClosed):
			return nil
		case err != nil && ctx.Err() != nil:
			return ctx.Err() // what was not written waits for Close
		case err != nil:
			return err
		}
	}
}

var errClosed = errors.New("audit: log closed")

// maxLineBuffer bounds the buffer a lineEncoder keeps for encoding an
// event: a larger event (a long key policy) gets a buffer of its own.
const maxLineBuffer = 64 << 10

// chunkSize is the size of the chunks the queue holds lines in: a burst
// that fills the queue takes more chunks rather than copying one growing
// buffer, and its chunks go back to chunks once written.
const chunkSize = 64 << 10

var chunks = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize); return &b }}

// appendLine appends line to the last chunk of q, or to a new one if it
// does not fit (a line longer than a chunk gets one of its own size).
func appendLine(q [][]byte, line []byte) [][]byte {
	if n := len(q); n > 0 && cap(q[n-1])-len(q[n-1]) >= len(line) {
		q[n-1] = append(q[n-1], line...)
		return q
	}
	var c []byte
	if len(line) <= chunkSize {
		c = (*chunks.Get().(*[]byte))[:0]
	} else {
		c = make([]byte, 0, len(line))
	}
	return append(q, append(c, line...))
}

// putChunk gives a written chunk back to chunks.
func putChunk(c []byte) {
	if cap(c) == chunkSize {
		c = c[:0]
		chunks.Put(&c)
	}
}

// closeRetry is how long Close retries a failing write.
const closeRetry = 10 * time.Second

// flush writes and fsyncs everything queued, and says how many events.
func (l *Log) flush(ctx context.Context) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.done {
		return 0, errClosed
	}
	l.mu.Lock()
	batch, n := l.pending, l.pendingN
	l.pending, l.pendingN = l.spare[:0], 0
	l.room.Broadcast()
	l.mu.Unlock()
	if n == 0 {
		l.spare = batch
		return 0, nil
	}
	err := l.writeBatch(ctx, batch, n)
	clear(batch) // writeBatch gave the chunks back
	l.spare = batch[:0]
	return n, err
}

// writeBatch writes n encoded events (the chunks of batch, which it gives
// back to chunks) after whatever an earlier failed write left, and fsyncs;
// the caller holds wmu. Bytes not written stay in out for the next call, so
// nothing encoded is lost to an error.
func (l *Log) writeBatch(ctx context.Context, batch [][]byte, n int) error {
	for _, c := range batch {
		l.out.Write(c)
		putChunk(c)
	}
	l.outEvents += n
	backoff := 100 * time.Millisecond
	for l.out.Len() > 0 {
		n, err := l.f.Write(l.out.Bytes())
		l.out.Next(n)
		l.size += int64(n)
		if err == nil {
			continue
		}
		l.logger.Error("audit: write failed; requests wait once the queue fills", "err", err, "retryIn", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("audit: write: %w", err)
		case <-t.C:
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	if !l.stdout {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("audit: fsync: %w", err)
		}
	}
	l.syncs.Add(1)
	l.written.Add(uint64(l.outEvents))
	l.outEvents = 0
	if l.maxBytes > 0 && l.size >= l.maxBytes && !l.stdout {
		// A failed rotation leaves the events in the current file and is
		// tried again after the next batch: nothing is lost.
		if err := l.rotate(); err != nil {
			l.logger.Error("audit: rotate", "err", err)
		}
	}
	return nil
}

// Rotate starts a new file: the current one is renamed to the log's name with
// the time of rotation before its extension (audit.jsonl becomes
// audit-20260102T150405.000000000Z.jsonl), unless something renamed it away
// already (logrotate, before sending SIGHUP), and a new file with its own
// header begins at the log's path. Rotate runs between two batches, under the
// writer's lock: every event is in exactly one file, none is lost or written
// twice. With standard output it does nothing.
func (l *Log) Rotate() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.done {
		return errClosed
	}
	if l.stdout {
		return nil
	}
	return l.rotate()
}

// rotate is Rotate with wmu held. Bytes a failed write left in out belong to
// the current file and are written to it first.
func (l *Log) rotate() error {
	for l.out.Len() > 0 {
		n, err := l.f.Write(l.out.Bytes())
		l.out.Next(n)
		l.size += int64(n)
		if err != nil {
			return fmt.Errorf("audit: rotate: %w", err)
		}
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: rotate: fsync: %w", err)
	}
	now := l.now().UTC()
	cur, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("audit: rotate: %w", err)
	}
	if onDisk, err := os.Stat(l.path); err == nil && os.SameFile(cur, onDisk) {
		if err := os.Rename(l.path, rotatedName(l.path, now)); err != nil {
			return fmt.Errorf("audit: rotate: %w", err)
		}
	}
	// O_EXCL: if another writer made the file meanwhile, do not share it.
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		// The renamed file is still open and still written: nothing is
		// lost, and the next rotation tries again.
		return fmt.Errorf("audit: rotate: %w", err)
	}
	n, err := l.writeHeader(f, now.Truncate(time.Second))
	if err != nil {
		f.Close()
		os.Remove(l.path)
		return fmt.Errorf("audit: rotate: %w", err)
	}
	old := l.f
	l.f, l.size = f, n
	l.rotated.Add(1)
	if err := old.Close(); err != nil {
		l.logger.Warn("audit: close the rotated file", "err", err)
	}
	return nil
}

// rotatedName is path with t before its extension; a name already taken (two
// rotations in one nanosecond's name) gets a counter.
func rotatedName(path string, t time.Time) string {
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(path, ext) + "-" + t.Format("20060102T150405.000000000Z")
	name := base + ext
	for i := 1; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d%s", base, i, ext)
	}
}

// Close stops accepting events, waits for Records already waiting to queue,
// writes and fsyncs everything queued, and closes the file. Run, if still
// running, returns nil. Events recorded after Close are dropped and counted.
// Calling Close again returns an error.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errClosed
	}
	l.closed = true
	l.room.Broadcast()
	for l.waiting > 0 {
		l.room.Wait()
	}
	l.mu.Unlock()

	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	batch, n := l.pending, l.pendingN
	l.pending, l.pendingN = nil, 0
	l.mu.Unlock()
	var err error
	if n > 0 || l.out.Len() > 0 {
		// A full disk gets a little time to clear before these are lost.
		ctx, cancel := context.WithTimeout(context.Background(), closeRetry)
		err = l.writeBatch(ctx, batch, n)
		cancel()
	}
	l.done = true
	if !l.stdout {
		err = errors.Join(err, l.f.Close())
	}
	if d := l.dropped.Load(); d > 0 {
		l.logger.Error("audit: events recorded after Close were not written", "dropped", d)
	}
	// Wake Run so that it sees the log closed.
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return err
}

// TrackingStart is when this log file was created: since then every
// successful cryptographic use of every key is in it.
func (l *Log) TrackingStart() time.Time { return l.start }

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	return Stats{
		Recorded: l.recorded.Load(), Written: l.written.Load(), Syncs: l.syncs.Load(),
		Waits: l.waits.Load(), Dropped: l.dropped.Load(), Rotated: l.rotated.Load(),
	}
}
