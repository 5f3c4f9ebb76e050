package policy

import (
	"bytes"
	"encoding/json"
	"errors"
)

// AWS binds the IAM users and roles a saved resource-based or trust policy
// names to their unique ids, and shows the unique id in place of the ARN once
// the entity is deleted (reference_policies_elements_principal.md, "IAM role
// principals" and "IAM user principals"). The document itself stays as the
// user wrote it; the caller keeps the bindings next to it (Options.Bound and
// Options.Bindings) and rewrites the document for display with
// RewritePrincipals.

// BindablePrincipals lists the IAM user and role ARNs that the Principal and
// NotPrincipal elements of a document name under "AWS", each once, in
// document order: the principals a saved policy binds to unique ids. Account
// ids and root ARNs, session ARNs, unique ids and other principal types are
// not bound. A document that does not parse names none.
func BindablePrincipals(doc []byte) []string {
	spans, err := awsPrincipalSpans(doc)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range spans {
		if _, kind, _, ok := classifyAWS(s.val); ok && (kind == awsUser || kind == awsRole) && !contains(out, s.val) {
			out = append(out, s.val)
		}
	}
	return out
}

// RewritePrincipals returns doc with each value of an "AWS" principal (in
// Principal or NotPrincipal) that show maps (show returns ok) replaced by the
// string it returns, and every other byte as it was: how a policy is
// displayed once a principal it names is deleted. It returns doc itself when
// nothing is replaced or the document does not parse.
func RewritePrincipals(doc []byte, show func(written string) (string, bool)) []byte {
	spans, err := awsPrincipalSpans(doc)
	if err != nil {
		return doc
	}
	var out []byte
	last := 0
	for _, s := range spans {
		repl, ok := show(s.val)
		if !ok || repl == s.val {
			continue
		}
		q, err := json.Marshal(repl)
		if err != nil {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(doc)+32)
		}
		out = append(out, doc[last:s.start]...)
		out = append(out, q...)
		last = s.end
	}
	if out == nil {
		return doc
	}
	return append(out, doc[last:]...)
}

// span is a JSON string value of a document: its decoded text and the byte
// range of its literal, quotes included.
type span struct {
	val        string
	start, end int
}

var errShape = errors.New("policy: not a policy document")

// awsPrincipalSpans finds the "AWS" principal values of a policy document's
// statements, with their positions, so that they can be replaced without
// touching the rest of the text.
func awsPrincipalSpans(doc []byte) ([]span, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	w := spanWalker{dec: dec, doc: doc}
	if !w.delim('{') {
		return nil, errShape
	}
	for dec.More() {
		k, err := w.key()
		if err != nil {
			return nil, err
		}
		if k != "Statement" {
			if err := w.skip(); err != nil {
				return nil, err
			}
			continue
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case json.Delim('['):
			for dec.More() {
				if !w.delim('{') {
					return nil, errShape
				}
				if err := w.statement(); err != nil {
					return nil, err
				}
			}
			if !w.delim(']') {
				return nil, errShape
			}
		case json.Delim('{'):
			if err := w.statement(); err != nil {
				return nil, err
			}
		default:
			return nil, errShape
		}
	}
	return w.spans, nil
}

type spanWalker struct {
	dec   *json.Decoder
	doc   []byte
	spans []span
}

func (w *spanWalker) delim(d json.Delim) bool {
	tok, err := w.dec.Token()
	return err == nil && tok == d
}

func (w *spanWalker) key() (string, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", errShape
	}
	return k, nil
}

func (w *spanWalker) skip() error {
	var raw json.RawMessage
	return w.dec.Decode(&raw)
}

// statement reads the members of a statement whose '{' was read, through
// its '}'.
func (w *spanWalker) statement() error {
	for w.dec.More() {
		k, err := w.key()
		if err != nil {
			return err
		}
		if k != "Principal" && k != "NotPrincipal" {
			if err := w.skip(); err != nil {
				return err
			}
			continue
		}
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		if _, ok := tok.(string); ok {
			continue // "*"
		}
		if tok != json.Delim('{') {
			return errShape
		}
		for w.dec.More() {
			typ, err := w.key()
			if err != nil {
				return err
			}
			if typ != "AWS" {
				if err := w.skip(); err != nil {
					return err
				}
				continue
			}
			if err := w.values(); err != nil {
				return err
			}
		}
		if !w.delim('}') {
			return errShape
		}
	}
	if !w.delim('}') {
		return errShape
	}
	return nil
}

// values records a string or an array of strings.
func (w *spanWalker) values() error {
	s, isStr, tok, err := w.str()
	if err != nil {
		return err
	}
	if isStr {
		w.spans = append(w.spans, s)
		return nil
	}
	if tok != json.Delim('[') {
		return errShape
	}
	for w.dec.More() {
		s, isStr, _, err := w.str()
		if err != nil {
			return err
		}
		if !isStr {
			return errShape
		}
		w.spans = append(w.spans, s)
	}
	if !w.delim(']') {
		return errShape
	}
	return nil
}

// str reads the next token: a string with its span (isStr), or anything
// else (tok).
func (w *spanWalker) str() (s span, isStr bool, tok json.Token, err error) {
	before := int(w.dec.InputOffset())
	if tok, err = w.dec.Token(); err != nil {
		return span{}, false, nil, err
	}
	v, ok := tok.(string)
	if !ok {
		return span{}, false, tok, nil
	}
	end := int(w.dec.InputOffset())
	// Between the previous token and the string lie only separators and
	// white space, so the literal starts at the first quote.
	i := bytes.IndexByte(w.doc[before:end], '"')
	if i < 0 {
		return span{}, false, nil, errShape
	}
	return span{val: v, start: before + i, end: end}, true, nil, nil
}
