package kms

import (
	"context"
	"errors"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Alias names beyond the model's pattern: after alias/ only letters,
// digits, /, _ and -; alias/aws/ is AWS's. Every alias operation applies it.
func TestAliasNames(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	k := e.createKey(t)
	ops := map[string]func(name string) error{
		"CreateAlias": func(name string) error {
			_, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr(name), TargetKeyId: k.KeyId})
			return err
		},
		"UpdateAlias": func(name string) error {
			_, err := e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr(name), TargetKeyId: k.KeyId})
			return err
		},
		"DeleteAlias": func(name string) error {
			_, err := e.s.DeleteAlias(ctx, e.caller, &kmsapi.DeleteAliasRequest{AliasName: wire.Ptr(name)})
			return err
		},
	}
	tests := []struct {
		name, alias, code, msg string
	}{
		{"colon after the prefix", "alias/my:alias", "ValidationException", "alias/my:alias contains invalid characters for an alias"},
		{"colon deeper", "alias/a/b:c", "ValidationException", "alias/a/b:c contains invalid characters for an alias"},
		{"no prefix", "my-alias", "ValidationException", `Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`},
		{"reserved for AWS", "alias/aws/mine", "NotAuthorizedException", ""},
	}
	for _, tt := range tests {
		for op, f := range ops {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				var we *wire.Error
				if err := f(tt.alias); !errors.As(err, &we) || we.Code != tt.code || we.Message != tt.msg {
					t.Fatalf("%s %q: %v, want %s %q", op, tt.alias, err, tt.code, tt.msg)
				}
			})
		}
	}
	for _, name := range []string{"alias/my-alias_/", "alias/my_alias-/", "alias/Team/App-1"} {
		if err := ops["CreateAlias"](name); err != nil {
			t.Errorf("CreateAlias %q: %v", name, err)
		}
	}
}
