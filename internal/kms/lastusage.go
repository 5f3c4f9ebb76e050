package kms

import (
	"context"
	"time"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// UsageSource is what GetKeyLastUsage needs of the record of key use
// (*usage.Tracker, which keeps it in the store for every node).
type UsageSource interface {
	// LastUsage is the last successful cryptographic use of a key.
	LastUsage(ctx context.Context, keyARN string) (audit.Usage, bool, error)
	// TrackingStart is when recording of key use began.
	TrackingStart() time.Time
}

// SetUsageSource makes GetKeyLastUsage answer from u. Call it once, before
// serving; without it, GetKeyLastUsage reports no use and tracking from each
// key's creation.
func (s *Service) SetUsageSource(u UsageSource) { s.usage = u }

func (s *Service) usageSource() UsageSource { return s.usage }

// GetKeyLastUsage reports the last successful cryptographic use of a key of
// the caller's account, and since when uses are tracked: the later of the
// audit log's start and the key's creation (API reference,
// GetKeyLastUsage). A use recorded before the key's creation cannot be
// this key's and is not reported.
func (s *Service) GetKeyLastUsage(ctx context.Context, c Caller, in *kmsapi.GetKeyLastUsageRequest) (*kmsapi.GetKeyLastUsageResponse, error) {
	k, err := s.keyFor(c, *in.KeyId, keyOnly, access{op: "GetKeyLastUsage"})
	if err != nil {
		return nil, err
	}
	created := k.rec.Created.Time()
	out := &kmsapi.GetKeyLastUsageResponse{KeyId: wire.Ptr(k.rec.ID), KeyCreationDate: ts(created), TrackingStartDate: ts(created)}
	src := s.usageSource()
	if src == nil {
		return out, nil
	}
	if start := src.TrackingStart(); start.After(created) {
		out.TrackingStartDate = ts(start)
	}
	// Events are dated to the second; a use in the second the key was made
	// still counts.
	u, ok, err := src.LastUsage(ctx, k.arn)
	if err != nil {
		return nil, err
	}
	if ok && !u.Time.Before(created.Truncate(time.Second)) {
		out.KeyLastUsage = &kmsapi.KeyLastUsageData{
			Operation: wire.Ptr(u.Operation), Timestamp: ts(u.Time),
			CloudTrailEventId: wire.Ptr(u.EventID),
		}
		if u.RequestID != "" {
			out.KeyLastUsage.KmsRequestId = wire.Ptr(u.RequestID)
		}
	}
	return out, nil
}
