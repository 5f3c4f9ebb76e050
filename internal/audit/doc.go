// Package audit records one CloudTrail-shaped event per request, allowed or
// denied, in an append-only JSON-lines file, and keeps the last use of each
// key it recorded (LastUsage, TakeUsage), which internal/usage writes to the
// store for GetKeyLastUsage.
//
// The server builds an Event with NewEvent from what it knows of a request:
// the caller (*authz.Identity), the operation, the requestParameters written
// from the request value the operation decoded and used, never from the raw
// body (Call.KMSRequest, which NewEvent writes into memory the event reuses,
// or KMSRequestParameters), or made by QueryRequestParameters, the
// responseElements made by KMSResponseElements, the error code and message,
// and the key ARNs involved.
// It hands the event to (*Log).Record, which never does disk I/O: it encodes the
// event into its line and queues the line in memory, and (*Log).Run writes the
// queue to the file.
//
// The package owns the event schema (the CloudTrail record fields, names as
// the KMS Developer Guide's CloudTrail examples show them), what may appear in
// an event, and the file. It must not let a secret into an event: plaintext,
// ciphertext blobs, key material, private keys, messages to sign or MAC,
// signatures, MACs, shared secrets, import tokens, grant tokens, passwords,
// secret access keys and session tokens are never copied. A KMS request's
// requestParameters are written by a method generated from the API model
// (kmsapi's AppendAuditParameters): a member that is or holds a shape the
// model marks sensitive, or a blob, has no code that could write it, and the
// few other members CloudTrail does not show (grant tokens) are listed in the
// generator. responseElements are built from an allowlist per operation.
// The audit log stays out of the KV store: it is a plain file beside it.
//
// # File
//
// The file is JSON lines, one event per line, created with mode 0600 and only
// ever appended to. Each line is what json.Encoder with SetEscapeHTML(false)
// writes for the *Event, byte for byte; Record produces it with an
// encoder of its own (encode.go), without reflection, and hands encoding/json
// only what it cannot write exactly (a NaN, a value nested too deep). Its first line is a header event (eventType
// "AwsServiceEvent", eventName "StartAuditLog") whose eventTime is when the file
// was created: that is TrackingStart, the date from which GetKeyLastUsage
// knows of every use. Open scans the file to rebuild the last-usage index, so
// opening takes time proportional to the file's size; lines of operations the
// index does not track (CreateKey and every other management call) are passed
// over by their eventName without being decoded. A file cut off by a crash
// mid-line loses only that line: Open skips it and starts the next event on a
// new line. The path "-" writes to standard output instead: no fsync, no index
// from before this process, TrackingStart is when it opened.
//
// Every event names the node that wrote it (trentNode, Options.Node) and,
// when the request was traced, its trace (trentTraceId): two fields of
// Trent's own after CloudTrail's, prefixed so that none will ever clash.
//
// # Rotation
//
// Rotate (on SIGHUP) and Options.MaxBytes (after a batch that reached the
// size) rename the file to its name with the UTC time of rotation before the
// extension and begin a new one, with its own header, at the path; if the
// file was renamed away already (logrotate), Rotate only begins the new one.
// Rotation runs under the writer's lock between two batches, so each event is
// in exactly one file. A rotation that fails (the directory is not writable)
// leaves the events in the current file and is tried again after the next
// batch.
//
// # Queue, group commit and back-pressure
//
// Record encodes the event in the caller's goroutine (where the event was just
// written, so that it goes back to NewEvent's pool at once), appends its line
// to a bounded in-memory queue (Options.QueueSize events) and wakes Run. Run
// takes everything queued, writes it with one write and makes it durable with
// one fsync, then repeats: under load one fsync covers every event that
// arrived while the previous one ran.
//
// Events are never dropped while the log is open. When the queue is full —
// the disk is slower than the requests for longer than the queue lasts, or a
// write keeps failing — Record waits for room: requests slow down rather than
// go unaudited. Stats counts these waits. A write error (a full disk) is
// logged and retried with backoff, holding the batch; an fsync error is
// returned by Run, since after a failed fsync the kernel may have dropped the
// data and a retry could report success falsely: the caller should stop
// serving. Only events recorded after Close are dropped; Stats counts them and
// Close's caller is told through the log.
//
// # Concurrency
//
// A *Log is safe for concurrent use. Record and LastUsage may be called from
// any number of goroutines; Run must run in exactly one goroutine, started and
// stopped by its caller; Close may be called while Run runs, or after, once.
// Record takes ownership of the event: the caller must not change it after.
//
// # Errors
//
// Open returns the error of opening, reading or creating the file. Run returns
// ctx's error when ctx ends, nil after Close, or an fsync error. Close returns
// the error of the final write, fsync or close.
package audit
