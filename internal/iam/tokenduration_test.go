package iam

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/stsapi"
)

// GetSessionToken and GetFederationToken issue credentials for
// DurationSeconds, by default 12 hours, and for a root user one hour at
// most and by default (STS API reference, DurationSeconds).
func TestTokenDurations(t *testing.T) {
	e := newMFAEnv(t)
	ctx := context.Background()
	session := func(c Call, d *int32) (*stsapi.Credentials, error) {
		out, err := e.d.GetSessionToken(ctx, c, &stsapi.GetSessionTokenRequest{DurationSeconds: d})
		if err != nil {
			return nil, err
		}
		return out.Credentials, nil
	}
	federation := func(c Call, d *int32) (*stsapi.Credentials, error) {
		out, err := e.d.GetFederationToken(ctx, c, &stsapi.GetFederationTokenRequest{Name: wire.Ptr("fed"), DurationSeconds: d,
			Policy: wire.Ptr(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}`)})
		if err != nil {
			return nil, err
		}
		return out.Credentials, nil
	}
	const tooLong = "The requested DurationSeconds exceeds the 1 hour session limit for root users."
	tests := []struct {
		name   string
		issue  func(Call, *int32) (*stsapi.Credentials, error)
		caller Call
		asked  *int32
		want   time.Duration // 0: refused
	}{
		{"GetSessionToken, user, default", session, e.alice, nil, 12 * time.Hour},
		{"GetSessionToken, user, 36 hours", session, e.alice, wire.Ptr(int32(129600)), 36 * time.Hour},
		{"GetSessionToken, root, default", session, e.root, nil, time.Hour},
		{"GetSessionToken, root, an hour", session, e.root, wire.Ptr(int32(3600)), time.Hour},
		{"GetSessionToken, root, a second more", session, e.root, wire.Ptr(int32(3601)), 0},
		{"GetFederationToken, user, default", federation, e.alice, nil, 12 * time.Hour},
		{"GetFederationToken, root, default", federation, e.root, nil, time.Hour},
		{"GetFederationToken, root, a second more", federation, e.root, wire.Ptr(int32(3601)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds, err := tt.issue(tt.caller, tt.asked)
			if tt.want == 0 {
				var we *wire.Error
				if !errors.As(err, &we) || we.Code != "ValidationError" || we.Message != tooLong {
					t.Fatalf("got %v, want ValidationError %q", err, tooLong)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := creds.Expiration.Time(), e.clk.Now().Add(tt.want); !got.Equal(want) {
				t.Fatalf("expires at %v, want %v", got, want)
			}
		})
	}
}
