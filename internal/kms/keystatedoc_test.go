package kms

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/wire/kmsapi"
)

// Every operation the Developer Guide's key-state table refuses in some
// state of a key has an entry in needs, so that a new operation cannot
// reach a key while forgetting its states; and every operation of the table
// is one of the API's.
func TestNeedsCoverTheKeyStateTable(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "docs", "aws-kms-developer-guide", "key-state.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the key-state table is read from the KMS Developer Guide in ../shared: %v", err)
	}
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		// | API | Enabled | Disabled | Pending deletion | Pending import | Unavailable | Creating | Updating |
		if len(cells) < 10 || !strings.HasPrefix(line, "| ") {
			continue
		}
		op := strings.TrimSpace(cells[1])
		if _, ok := kmsapi.Operations[op]; !ok {
			if op != "API" && !strings.HasPrefix(op, "---") {
				t.Errorf("the key-state table names %q, not an operation of the API model", op)
			}
			continue
		}
		rows++
		// The states Trent keys have: Enabled, Disabled, PendingDeletion,
		// PendingImport, Unavailable.
		refused := false
		for _, c := range cells[2:7] {
			refused = refused || strings.Contains(c, "icon-disabled-pending-deletion")
		}
		if _, ok := needs[op]; refused && !ok {
			t.Errorf("%s: the key-state table refuses it in some state, and needs has no entry for it", op)
		}
	}
	if rows < 40 {
		t.Fatalf("read %d operations from %s; the table's layout changed", rows, path)
	}
}
