package iamapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
)

// Validate applies the IAM model's constraints with IAM's wording: code
// ValidationError, status 400, every broken constraint of the request
// counted and listed.
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   interface{ Validate() error }
		want string // "" valid
	}{
		{"valid", &CreateUserRequest{UserName: wire.Ptr("alice"), Path: wire.Ptr("/team/")}, ""},
		{"required member", &CreateUserRequest{},
			"1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"},
		{"pattern", &CreateUserRequest{UserName: wire.Ptr("bad name")},
			`1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`},
		{"length and pattern", &CreateUserRequest{UserName: wire.Ptr(strings.Repeat("a", 64) + "!")},
			"2 validation errors detected: Value '" + strings.Repeat("a", 64) + "!' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64; " +
				"Value '" + strings.Repeat("a", 64) + "!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"},
		{"range", &CreateRoleRequest{RoleName: wire.Ptr("r"), AssumeRolePolicyDocument: wire.Ptr("{}"), MaxSessionDuration: wire.Ptr(int32(3599))},
			"1 validation error detected: Value '3599' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"},
		{"range at its bound", &CreateRoleRequest{RoleName: wire.Ptr("r"), AssumeRolePolicyDocument: wire.Ptr("{}"), MaxSessionDuration: wire.Ptr(int32(43200))}, ""},
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

// An error shape's constructor carries the model's code and status, which
// differ from the shape's name.
func TestErrorConstructors(t *testing.T) {
	for _, tt := range []struct {
		err    *wire.Error
		code   string
		status int
	}{
		{NewNoSuchEntityException("m"), "NoSuchEntity", 404},
		{NewEntityAlreadyExistsException("m"), "EntityAlreadyExists", 409},
	} {
		if tt.err.Code != tt.code || tt.err.Status != tt.status || tt.err.Message != "m" {
			t.Errorf("%+v, want %s %d", tt.err, tt.code, tt.status)
		}
	}
}
