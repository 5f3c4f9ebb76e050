package orgapi_test

import (
	"errors"
	"testing"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/orgapi"
)

// TestDecodeCreateAccount checks that the JSON-protocol output for
// Organizations decodes and validates like kmsapi.
func TestDecodeCreateAccount(t *testing.T) {
	var r orgapi.CreateAccountRequest
	body := `{"Email":"dev@example.com","AccountName":"dev","Tags":[{"Key":"team","Value":"a"}]}`
	if err := wire.DecodeJSON([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if wire.String(r.Email) != "dev@example.com" || len(r.Tags) != 1 || wire.String(r.Tags[0].Key) != "team" {
		t.Errorf("decoded %+v", r)
	}

	var missing orgapi.CreateAccountRequest
	err := wire.DecodeJSON([]byte(`{"AccountName":"dev"}`), &missing)
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != "ValidationException" || we.Status != 400 ||
		we.Message != "1 validation error detected: Value null at 'email' failed to satisfy constraint: Member must not be null" {
		t.Errorf("got %#v", err)
	}
}

func TestErrors(t *testing.T) {
	if e := orgapi.NewAccountNotFoundException("m"); e.Code != "AccountNotFoundException" || e.Status != 400 {
		t.Errorf("got %+v", e)
	}
	if e := orgapi.NewServiceException("m"); e.Code != "ServiceException" || e.Status != 500 {
		t.Errorf("got %+v", e)
	}
	if _, ok := orgapi.Operations["CreateAccount"]; !ok || len(orgapi.Operations) != 63 {
		t.Errorf("%d operations", len(orgapi.Operations))
	}
}
