package authz_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/authz/corpus"
	"github.com/trentkms/trent/internal/policy"
)

// corpusDir holds the decision corpus; internal/kms/corpus_test.go runs the
// same files against the KMS service.
const corpusDir = "testdata/corpus"

// sharedDir is the reference material the corpus cites (README: tests read
// it beside the checkout).
const sharedDir = "../../../shared"

// TestCorpus decides every case of the corpus that authorization alone
// decides (all but level "kms") with authz.DecideKey, or authz.IdentityBased
// for actions on no key, and compares with the outcome AWS documents.
func TestCorpus(t *testing.T) {
	files, err := corpus.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f.Path), ".json"), func(t *testing.T) {
			ran := 0
			for _, c := range f.Cases {
				if c.Level == "kms" {
					continue // a rule of the KMS operation: internal/kms/corpus_test.go
				}
				ran++
				t.Run(c.Name, func(t *testing.T) {
					// Every repetition must decide alike: the first that
					// differs from the expectation is the one judged.
					var got outcome
					for i := 0; i < max(c.Repeat, 1); i++ {
						o, err := decideCase(f, c)
						if err != nil {
							t.Fatal(err)
						}
						if got = o; !expected(c, o) {
							break
						}
					}
					judge(t, c, got)
				})
			}
			if ran == 0 && len(f.Cases) > 0 && !allKMS(f) {
				t.Fatal("no case ran")
			}
		})
	}
}

func allKMS(f *corpus.File) bool {
	for _, c := range f.Cases {
		if c.Level != "kms" {
			return false
		}
	}
	return true
}

// TestCorpusCitations checks that every case cites documents that exist in
// ../shared, anchors included. It fails, rather than skips, when ../shared
// is missing: the citations are the corpus's proof.
func TestCorpusCitations(t *testing.T) {
	files, err := corpus.Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sharedDir, "docs")); err != nil {
		t.Fatalf("the corpus cites ../shared/docs, which is not beside the checkout: %v", err)
	}
	for _, err := range corpus.CheckCitations(sharedDir, files) {
		t.Error(err)
	}
}

// outcome is a decision in the corpus's terms.
type outcome struct {
	allowed bool
	by      string
	grant   string
	reason  authz.Reason
	sid     string
}

func (o outcome) String() string {
	if o.allowed {
		return fmt.Sprintf("allow by %s (grant %q, sid %q)", o.by, o.grant, o.sid)
	}
	return fmt.Sprintf("deny: %s (sid %q)", reasonPhrase(o.reason), o.sid)
}

// expected reports whether an outcome is the case's expectation.
func expected(c *corpus.Case, got outcome) bool { return len(mismatches(c, got)) == 0 }

// judge compares an outcome with the case's expectation; a pending case must
// still be decided otherwise, or it belongs in the main corpus.
func judge(t *testing.T, c *corpus.Case, got outcome) {
	t.Helper()
	wrong := mismatches(c, got)
	switch {
	case c.Pending != "" && len(wrong) == 0:
		t.Errorf("pending case now decided as AWS does (%s): move it to the main corpus\nrule: %s", c.Pending, c.Rule)
	case c.Pending != "":
		t.Logf("known wrong, tracked by %s: got %v (%s)", c.Pending, got, strings.Join(wrong, "; "))
	case len(wrong) > 0:
		t.Errorf("got %v: %s\nrule: %s", got, strings.Join(wrong, "; "), c.Rule)
	}
}

// mismatches lists how an outcome differs from the case's expectation.
func mismatches(c *corpus.Case, got outcome) []string {
	w := c.Want
	var wrong []string
	switch w.Decision {
	case "allow":
		if !got.allowed {
			wrong = append(wrong, "denied")
			break
		}
		if got.by != w.By {
			wrong = append(wrong, "allowed by "+got.by+", want "+w.By)
		}
		if w.Grant != "" && got.grant != w.Grant {
			wrong = append(wrong, "allowed by grant "+got.grant+", want "+w.Grant)
		}
	case "deny":
		if got.allowed {
			wrong = append(wrong, "allowed")
			break
		}
		if got.reason != corpus.Reasons[w.Because] {
			wrong = append(wrong, fmt.Sprintf("because %s, want %s", reasonPhrase(got.reason), w.Because))
		}
	}
	if w.Sid != "" && got.sid != w.Sid {
		wrong = append(wrong, fmt.Sprintf("deciding statement %q, want %q", got.sid, w.Sid))
	}
	return wrong
}

// decideCase decides a case's live request (corpus.File.Live) with the
// engine.
func decideCase(f *corpus.File, c *corpus.Case) (outcome, error) {
	l, err := f.Live(c)
	if err != nil {
		return outcome{}, err
	}
	if l.Key == nil {
		id := l.Identity
		d := authz.IdentityBasedVia(id, &policy.Request{Principal: id.PolicyPrincipal(), Action: c.Action, Resource: l.Resource, Time: l.Request.Time, Keys: l.Keys}, l.Request.Endpoint)
		return outcome{allowed: d.Allowed(), by: "iam", reason: d.Reason, sid: d.Sid}, nil
	}
	d := authz.DecideKey(l.Key)
	return outcome{allowed: d.Allowed(), by: d.By.String(), grant: d.GrantID, reason: d.Reason, sid: d.Sid}, nil
}
