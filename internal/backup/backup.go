// Package backup writes and reads Trent backups: every record of a store at
// one revision, in a file that says what it is and proves it is whole.
//
// A backup is text, one item a line:
//
//	TRENT BACKUP 1
//	{"format":1,"revision":…,"time":"…","records":N}
//	{"key":"…","value":"<base64>"}          (N lines, in key order)
//	sha256 <hex of SHA-256 of every byte above>
//
// Records are copied as the store holds them, so key material and secrets
// stay sealed under the root key, and the root key stays wrapped by the seal:
// a backup is no more sensitive than the store. (With the file seal, keep the
// key file with the backup, or the backup cannot be unsealed.)
//
// Snapshot takes one consistent read (store.Range: a bbolt read transaction,
// or etcd at one revision) while the store serves. Read verifies the whole
// backup before anything is written: the header, every record, their count
// and order, and the checksum, so a truncated or altered file is refused
// with the cause. Restore then writes it into a store that must be empty
// unless Replace is set.
package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/store"
)

// Format is the version of the backup format this package writes and reads.
const Format = 1

const (
	magic          = "TRENT BACKUP 1\n"
	checksumPrefix = "sha256 "
	// maxLine bounds one line: a record's value is at most etcd's request
	// size (1.5 MiB), in base64.
	maxLine = 4 << 20
)

// IncompleteKey marks a store whose restore wrote some of its batches but
// not all; nodes refuse to start on it. Restore writes it in its first
// batch and deletes it in its last; one batch never shows it.
const IncompleteKey = "restore/incomplete"

// Header describes a backup.
type Header struct {
	Format   int       `json:"format"`
	Revision int64     `json:"revision"` // the store revision the snapshot was read at
	Time     time.Time `json:"time"`     // when it was taken
	Records  int       `json:"records"`
}

type record struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// ErrCorrupt is wrapped by every error of Read about the content of a
// backup: truncated, altered, or not a backup.
var ErrCorrupt = errors.New("backup: the backup is damaged")

// Snapshot writes every record of st, read at one revision, to w.
func Snapshot(ctx context.Context, st store.Store, w io.Writer, now time.Time) (Header, error) {
	kvs, rev, err := st.Range(ctx, "")
	if err != nil {
		return Header{}, fmt.Errorf("backup: read the store: %w", err)
	}
	return Write(w, kvs, rev, now)
}

// Write writes kvs, read at revision rev, as a backup to w.
func Write(w io.Writer, kvs []store.KV, rev int64, now time.Time) (Header, error) {
	h := Header{Format: Format, Revision: rev, Time: now.UTC(), Records: len(kvs)}
	sum := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(w, sum))
	bw.WriteString(magic)
	if err := writeJSONLine(bw, h); err != nil {
		return Header{}, err
	}
	for _, kv := range kvs {
		if err := writeJSONLine(bw, record{Key: kv.Key, Value: kv.Value}); err != nil {
			return Header{}, err
		}
	}
	if err := bw.Flush(); err != nil {
		return Header{}, fmt.Errorf("backup: write: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s%x\n", checksumPrefix, sum.Sum(nil)); err != nil {
		return Header{}, fmt.Errorf("backup: write: %w", err)
	}
	return h, nil
}

func writeJSONLine(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}

// Read reads a whole backup from r and verifies it. It returns an error
// wrapping ErrCorrupt, naming the cause, if the backup is truncated,
// altered or not a backup, and an error naming the format if it is newer
// than this Trent reads.
func Read(r io.Reader) (Header, []store.KV, error) {
	sum := sha256.New()
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	next := func() ([]byte, error) {
		line++
		b, err := readLine(br, sum)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: it ends at line %d: truncated", ErrCorrupt, line)
		}
		return b, err
	}
	first, err := next()
	if err != nil {
		return Header{}, nil, err
	}
	if string(first)+"\n" != magic {
		if strings.HasPrefix(string(first), "TRENT BACKUP ") {
			return Header{}, nil, fmt.Errorf("backup: the backup is format %q; this Trent reads format %d: use a newer Trent", strings.TrimPrefix(string(first), "TRENT BACKUP "), Format)
		}
		return Header{}, nil, fmt.Errorf("%w: not a Trent backup", ErrCorrupt)
	}
	hb, err := next()
	if err != nil {
		return Header{}, nil, err
	}
	var h Header
	if err := json.Unmarshal(hb, &h); err != nil || h.Format != Format || h.Records < 0 {
		return Header{}, nil, fmt.Errorf("%w: malformed header", ErrCorrupt)
	}
	kvs := make([]store.KV, 0, min(h.Records, 1<<16))
	for i := range h.Records {
		b, err := next()
		if err != nil {
			return Header{}, nil, err
		}
		var rec record
		if err := json.Unmarshal(b, &rec); err != nil || rec.Key == "" {
			return Header{}, nil, fmt.Errorf("%w: record %d (line %d) is malformed", ErrCorrupt, i+1, line)
		}
		if i > 0 && rec.Key <= kvs[i-1].Key {
			return Header{}, nil, fmt.Errorf("%w: record %d (line %d) is out of order", ErrCorrupt, i+1, line)
		}
		if rec.Value == nil {
			rec.Value = []byte{}
		}
		kvs = append(kvs, store.KV{Key: rec.Key, Value: rec.Value})
	}
	want := hex.EncodeToString(sum.Sum(nil))
	line++
	last, err := readLine(br, nil)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Header{}, nil, fmt.Errorf("%w: it ends before its checksum: truncated", ErrCorrupt)
	}
	if err != nil {
		return Header{}, nil, err
	}
	got, ok := strings.CutPrefix(string(last), checksumPrefix)
	if !ok {
		return Header{}, nil, fmt.Errorf("%w: line %d is not the checksum: it holds more records than its header says", ErrCorrupt, line)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return Header{}, nil, fmt.Errorf("%w: the checksum does not match: altered", ErrCorrupt)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		return Header{}, nil, fmt.Errorf("%w: there is more after its checksum", ErrCorrupt)
	}
	return h, kvs, nil
}

// readLine reads one line, without its newline, adding the line with its
// newline to sum (if not nil). A last line without a newline is truncated.
func readLine(br *bufio.Reader, sum hash.Hash) ([]byte, error) {
	var buf bytes.Buffer
	for {
		frag, err := br.ReadSlice('\n')
		buf.Write(frag)
		if buf.Len() > maxLine {
			return nil, fmt.Errorf("%w: a line is longer than %d bytes", ErrCorrupt, maxLine)
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) && buf.Len() > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if sum != nil {
		sum.Write(buf.Bytes())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Replace lets Restore write into a store that holds records: they are
	// deleted, and the store then holds exactly the backup's.
	Replace bool
	// MaxOps bounds the operations of one transaction (etcd refuses more
	// than its --max-txn-ops, 128 by default). 0: everything in one.
	MaxOps int
}

// ErrNotEmpty is returned by Restore when the store holds records and
// RestoreOptions.Replace is not set; nothing was written.
var ErrNotEmpty = errors.New("backup: the store is not empty")

// Restore writes kvs (from Read) into st. In one transaction (MaxOps 0, or
// few records) it is all or nothing. In several, the first writes
// IncompleteKey and the last deletes it, so a store left by an interrupted
// restore is refused by every node until a restore completes.
func Restore(ctx context.Context, st store.Store, kvs []store.KV, o RestoreOptions) error {
	existing, _, err := st.Range(ctx, "")
	if err != nil {
		return fmt.Errorf("restore: read the store: %w", err)
	}
	if len(existing) > 0 && !o.Replace {
		return fmt.Errorf("%w: it holds %d records; restore into an empty store, or replace them (--replace)", ErrNotEmpty, len(existing))
	}
	inBackup := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		inBackup[kv.Key] = true
	}
	var ops []op
	for _, kv := range existing {
		if !inBackup[kv.Key] && kv.Key != IncompleteKey {
			ops = append(ops, op{del: kv.Key})
		}
	}
	for _, kv := range kvs {
		ops = append(ops, op{put: store.KV{Key: kv.Key, Value: kv.Value}})
	}
	// The first transaction also checks that nothing was written since the
	// store was read (compare every existing record, or absence of one).
	var guard []store.Compare
	if len(existing) == 0 {
		guard = []store.Compare{{Key: IncompleteKey}}
	}
	if o.MaxOps <= 0 || len(ops)+len(guard) <= o.MaxOps {
		t := store.Txn{Compares: guard, Deletes: []string{IncompleteKey}}
		for _, op := range ops {
			op.add(&t)
		}
		if _, err := st.Txn(ctx, t); err != nil {
			return restoreError(err)
		}
		return nil
	}
	batch := o.MaxOps - 1 // room for the marker
	marker := store.KV{Key: IncompleteKey, Value: []byte(time.Now().UTC().Format(time.RFC3339))}
	for i := 0; i < len(ops); i += batch {
		t := store.Txn{}
		if i == 0 {
			t.Compares = guard
			t.Puts = append(t.Puts, marker)
		}
		for _, op := range ops[i:min(i+batch, len(ops))] {
			op.add(&t)
		}
		if i+batch >= len(ops) {
			t.Deletes = append(t.Deletes, IncompleteKey)
		}
		if _, err := st.Txn(ctx, t); err != nil {
			return restoreError(err)
		}
	}
	return nil
}

type op struct {
	put store.KV
	del string
}

func (o op) add(t *store.Txn) {
	if o.del != "" {
		t.Deletes = append(t.Deletes, o.del)
		return
	}
	t.Puts = append(t.Puts, o.put)
}

func restoreError(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return errors.New("restore: the store changed while restoring (is a node running on it?); stop every node and run it again")
	}
	return fmt.Errorf("restore: %w", err)
}
