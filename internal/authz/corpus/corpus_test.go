package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// valid is a world with one case of each decision the loader checks.
const valid = `{"about": "loader test",
 "principals": {"alice": {"type": "user", "name": "alice"}},
 "keys": {"k": {"policy": "default"}},
 "grants": [{"name": "g", "key": "k", "grantee": "arn:aws:iam::111122223333:user/alice", "operations": ["Decrypt"]}],
 "cases": [
  {"name": "by grant", "rule": "aws-kms-developer-guide/grants.md", "principal": "alice", "action": "kms:Decrypt", "key": "k",
   "want": {"decision": "allow", "by": "grant", "grant": "g"}},
  {"name": "denied", "rule": "aws-kms-developer-guide/key-policies.md", "principal": "alice", "action": "kms:Encrypt", "key": "k",
   "want": {"decision": "deny", "because": "no identity-based policy allows"}}]}`

// Load refuses a corpus file that would test something other than it says,
// or nothing: every mistake below would otherwise pass silently.
func TestLoadRefusesMalformedCases(t *testing.T) {
	tests := []struct {
		name, file, old, new, want string
	}{
		{"a misspelt field", "w.json", `"because"`, `"becuase"`, "unknown field"},
		{"a case citing no rule", "w.json", `"rule": "aws-kms-developer-guide/grants.md", `, ``, "cites no rule"},
		{"two cases of one name", "w.json", `"name": "denied"`, `"name": "by grant"`, "needs a unique name"},
		{"an unknown principal", "w.json", `"principal": "alice", "action": "kms:Encrypt"`, `"principal": "bob", "action": "kms:Encrypt"`, `unknown principal "bob"`},
		{"an unknown key", "w.json", `"key": "k",
   "want": {"decision": "deny"`, `"key": "x",
   "want": {"decision": "deny"`, `unknown key "x"`},
		{"an action of another service", "w.json", `"kms:Encrypt"`, `"s3:GetObject"`, "not a kms: action"},
		{"an allow not saying by what", "w.json", `"by": "grant", "grant": "g"`, `"grant": "g"`, "names what allowed"},
		{"an allow by a grant the world lacks", "w.json", `"grant": "g"}},`, `"grant": "h"}},`, "names the corpus grant"},
		{"a reason AWS does not give", "w.json", `"no identity-based policy allows"`, `"nobody allows"`, "not one of AWS's reasons"},
		{"a decision that is none", "w.json", `"decision": "deny"`, `"decision": "maybe"`, `decision "maybe"`},
		{"a principal of no known type", "w.json", `"type": "user"`, `"type": "group"`, `type "group"`},
		{"a pending case outside pending files", "w.json", `"name": "denied",`, `"name": "denied", "pending": "issue 9",`, "pending cases"},
		{"a pending file with a case not pending", "pending_w.json", ``, ``, "pending cases"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := valid
			if tt.old != "" {
				if !strings.Contains(doc, tt.old) {
					t.Fatalf("the test's edit %q matches nothing", tt.old)
				}
				doc = strings.Replace(doc, tt.old, tt.new, 1)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load: %v, want an error saying %q", err, tt.want)
			}
		})
	}
	dir := t.TempDir()
	if _, err := Load(dir); err == nil {
		t.Fatal("Load of an empty directory: no error")
	}
	if err := os.WriteFile(filepath.Join(dir, "w.json"), []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	files, err := Load(dir)
	if err != nil {
		t.Fatalf("Load of the valid world: %v", err)
	}
	f := files[0]
	// Defaults: the account of a principal and key that name none.
	if f.Pending || f.Principals["alice"].Account != DefaultAccount || f.Keys["k"].Account != DefaultAccount || len(f.Cases) != 2 {
		t.Fatalf("loaded %+v", f)
	}
}
