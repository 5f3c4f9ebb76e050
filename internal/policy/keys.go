package policy

import "strings"

// ContextKeys lists the request context keys a policy reads — the keys its
// conditions test and those its policy variables name — each once, as
// first written, in document order: what a request must carry for the
// policy to be evaluated as written (IAM's GetContextKeysForCustomPolicy).
func (p *Policy) ContextKeys() []string {
	var out []string
	seen := map[string]bool{}
	for i := range p.stmts {
		for _, k := range p.stmts[i].keys {
			if l := lower(k); !seen[l] {
				seen[l] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// StatementContextKeys is ContextKeys for the statement at index (its
// position in the document's Statement list); nil for no such statement.
func (p *Policy) StatementContextKeys(index int) []string {
	for i := range p.stmts {
		if p.stmts[i].index == index {
			return p.stmts[i].keys
		}
	}
	return nil
}

// name is the key a variable names, as written: ${aws:username, 'x'} names
// aws:username.
func (v *variable) name() string {
	body := strings.TrimSuffix(strings.TrimPrefix(v.raw, "${"), "}")
	if i := strings.IndexByte(body, ','); i >= 0 {
		body = body[:i]
	}
	return strings.TrimSpace(body)
}
