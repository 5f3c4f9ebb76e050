package audit

import (
	"sync"
	"time"
)

// Usage is the last successful cryptographic use of a key.
type Usage struct {
	Operation string    // one of the KeyLastUsageTrackingOperation values, e.g. "Encrypt"
	Time      time.Time // the event's eventTime (to the second)
	EventID   string    // the event's eventID (CloudTrailEventId)
	RequestID string    // the request's id (KmsRequestId)
}

// tracked are the operations GetKeyLastUsage reports: the
// KeyLastUsageTrackingOperation enum of the KMS API model.
var tracked = map[string]bool{
	"Decrypt": true, "DeriveSharedSecret": true, "Encrypt": true, "GenerateDataKey": true,
	"GenerateDataKeyPair": true, "GenerateDataKeyPairWithoutPlaintext": true,
	"GenerateDataKeyWithoutPlaintext": true, "GenerateMac": true, "ReEncrypt": true,
	"Sign": true, "Verify": true, "VerifyMac": true,
}

// usageIndex maps a key ARN to its last usage; dirty holds the uses not yet
// taken by TakeUsage.
type usageIndex struct {
	mu    sync.RWMutex
	m     map[string]Usage
	dirty map[string]Usage
}

// note records a use of every key of a successful tracked event (both keys
// of a ReEncrypt), unless the index already holds a later one.
func (x *usageIndex) note(op, errorCode, eventType, eventID, requestID string, t time.Time, res []Resource) {
	if !tracked[op] || errorCode != "" || eventType != "AwsApiCall" || t.IsZero() || len(res) == 0 {
		return
	}
	u := Usage{Operation: op, Time: t, EventID: eventID, RequestID: requestID}
	x.mu.Lock()
	for _, r := range res {
		if old, ok := x.m[r.ARN]; !ok || !t.Before(old.Time) {
			x.m[r.ARN] = u
			x.dirty[r.ARN] = u
		}
	}
	x.mu.Unlock()
}

// TakeUsage returns the last use of each key noted since the previous call
// (or since Open, which notes the uses in the file), and forgets them: the
// uses internal/usage batches into the store. empty is a map to reuse for
// the next round (nil: a new one); the caller owns the map returned.
func (l *Log) TakeUsage(empty map[string]Usage) map[string]Usage {
	if empty == nil {
		empty = map[string]Usage{}
	}
	clear(empty)
	l.usage.mu.Lock()
	out := l.usage.dirty
	l.usage.dirty = empty
	l.usage.mu.Unlock()
	return out
}

// LastUsage returns the last successful cryptographic use of the key with
// this ARN recorded since TrackingStart, if any.
func (l *Log) LastUsage(keyARN string) (Usage, bool) {
	l.usage.mu.RLock()
	u, ok := l.usage.m[keyARN]
	l.usage.mu.RUnlock()
	return u, ok
}
