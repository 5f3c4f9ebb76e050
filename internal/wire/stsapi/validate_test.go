package stsapi

import (
	"errors"
	"testing"

	"github.com/trentkms/trent/internal/wire"
)

// Validate applies the STS model's constraints with STS's wording, every
// broken constraint of the request counted and listed: session names,
// durations (the model's bounds; the operations narrow them), required
// members.
func TestValidate(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/r"
	tests := []struct {
		name string
		in   interface{ Validate() error }
		want string // "" valid
	}{
		{"valid", &AssumeRoleRequest{RoleArn: wire.Ptr(role), RoleSessionName: wire.Ptr("s1"), DurationSeconds: wire.Ptr(int32(900))}, ""},
		{"two faults", &AssumeRoleRequest{RoleArn: wire.Ptr(role), RoleSessionName: wire.Ptr("s"), DurationSeconds: wire.Ptr(int32(899))},
			"2 validation errors detected: Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
				"Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"pattern", &AssumeRoleRequest{RoleArn: wire.Ptr(role), RoleSessionName: wire.Ptr("bad name")},
			`1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"required member", &AssumeRoleRequest{RoleSessionName: wire.Ptr("s1")},
			"1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"},
		{"upper bound", &GetSessionTokenRequest{DurationSeconds: wire.Ptr(int32(129601))},
			"1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600"},
		{"at the upper bound", &GetSessionTokenRequest{DurationSeconds: wire.Ptr(int32(129600))}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var we *wire.Error
			if !errors.As(err, &we) || we.Code != "ValidationError" || we.Status != 400 || we.Message != tt.want {
				t.Fatalf("Validate: %+v\nwant ValidationError 400 %q", err, tt.want)
			}
		})
	}
}
