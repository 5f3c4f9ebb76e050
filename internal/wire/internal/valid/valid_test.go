package valid

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire"
)

func message(t *testing.T, e *Errors) string {
	t.Helper()
	err := e.Err()
	if err == nil {
		return ""
	}
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != "ValidationException" || we.Status != 400 {
		t.Fatalf("got %#v, want a 400 ValidationException", err)
	}
	return we.Message
}

func TestChecks(t *testing.T) {
	name := &String{Len: Bounds{HasMin: true, Min: 1, HasMax: true, Max: 3}, Pattern: regexp.MustCompile(`^(?:[a-z]*)$`), PatternAt: "[a-z]*"}
	secret := &String{Len: Bounds{HasMin: true, Min: 4}, Sensitive: true}
	enum := &String{Enum: []string{"B", "A"}}
	tests := []struct {
		name  string
		check func(e *Errors)
		want  string
	}{
		{"nothing fails", func(e *Errors) { name.Check(e, "", "name", "ab") }, ""},
		{"length and pattern both fail", func(e *Errors) { name.Check(e, "", "name", "ABCD") },
			"2 validation errors detected: Value 'ABCD' at 'name' failed to satisfy constraint: Member must have length less than or equal to 3; " +
				"Value 'ABCD' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]*"},
		{"sensitive value is hidden", func(e *Errors) { secret.Check(e, "p", "secret", "abc") },
			"1 validation error detected: Value at 'p.secret' failed to satisfy constraint: Member must have length greater than or equal to 4"},
		{"enum in declared order", func(e *Errors) { enum.Check(e, "", "e", "C") },
			"1 validation error detected: Value 'C' at 'e' failed to satisfy constraint: Member must satisfy enum value set: [B, A]"},
		{"number range", func(e *Errors) { (&Number{Range: Bounds{HasMin: true, Min: 90}}).Check(e, "", "days", 7) },
			"1 validation error detected: Value '7' at 'days' failed to satisfy constraint: Member must have value greater than or equal to 90"},
		{"blob never echoed", func(e *Errors) { (&Blob{Len: Bounds{HasMax: true, Max: 1}}).Check(e, "", "b", []byte("xy")) },
			"1 validation error detected: Value at 'b' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"list of structures length", func(e *Errors) { (&List{Len: Bounds{HasMax: true, Max: 1}, Hidden: true}).CheckLen(e, "", "tags", 2) },
			"1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"map keys and values", func(e *Errors) {
			(&Map{Key: name, Value: enum}).Check(e, "", "ctx", map[string]string{"b": "A", "ABCD": "Z"})
		}, "2 validation errors detected: " +
			"Value '{ABCD=Z, b=A}' at 'ctx' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 3, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [a-z]*]; " +
			"Value '{ABCD=Z, b=A}' at 'ctx' failed to satisfy constraint: Map value must satisfy constraint: [Member must satisfy enum value set: [B, A]]"},
		{"sensitive map is hidden", func(e *Errors) { (&Map{Value: secret}).Check(e, "", "m", map[string]string{"k": "v"}) },
			"1 validation error detected: Value at 'm' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length greater than or equal to 4]"},
		{"element path", func(e *Errors) { e.Null(Elem("", "tags", 2), "tagValue") },
			"1 validation error detected: Value null at 'tags.3.member.tagValue' failed to satisfy constraint: Member must not be null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Errors
			tt.check(&e)
			if got := message(t, &e); got != tt.want {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCharactersNotBytes(t *testing.T) {
	r := &String{Len: Bounds{HasMax: true, Max: 2}}
	var e Errors
	r.Check(&e, "", "s", "éé")
	if got := message(t, &e); got != "" {
		t.Errorf("two characters in four bytes: %q", got)
	}
	r.Check(&e, "", "s", strings.Repeat("é", 3))
	if message(t, &e) == "" {
		t.Error("three characters passed a maximum of two")
	}
}

func TestNoAllocationOnSuccess(t *testing.T) {
	r := &String{Len: Bounds{HasMin: true, Min: 1, HasMax: true, Max: 2048}}
	allocs := testing.AllocsPerRun(100, func() {
		var e Errors
		r.Check(&e, "", "keyId", "alias/my-key")
		if e.Err() != nil {
			t.Fatal("failed")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}

func TestQueryErr(t *testing.T) {
	var e Errors
	if e.QueryErr() != nil {
		t.Fatal("no failure must give nil")
	}
	e.Null("", "userName")
	var we *wire.Error
	if err := e.QueryErr(); !errors.As(err, &we) || we.Code != "ValidationError" || we.Status != 400 ||
		we.Message != "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null" {
		t.Errorf("got %#v", err)
	}
}

func TestAlsoPattern(t *testing.T) {
	r := &String{Pattern: regexp.MustCompile(`^[a-z-]+$`), Also: regexp.MustCompile(`^[a-z]+(?:-[a-z]+)*$`), PatternAt: "p"}
	var e Errors
	r.Check(&e, "", "alias", "a-b")
	r.Check(&e, "", "alias", "a--b")
	if got := message(t, &e); got != "1 validation error detected: Value 'a--b' at 'alias' failed to satisfy constraint: Member must satisfy regular expression pattern: p" {
		t.Errorf("got %q", got)
	}
}
