package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// This file turns policy JSON into a syntax tree that keeps what the JSON said:
// element order, whether a value was a string or an array, duplicate keys and
// unknown fields, so validation can word its findings the way AWS does and the
// tree can be written back unchanged.

// jsonKind is the JSON type of a value in the tree.
type jsonKind uint8

const (
	jString jsonKind = iota + 1
	jNumber
	jBool
	jNull
	jArray
	jObject
)

func (k jsonKind) String() string {
	switch k {
	case jString:
		return "string"
	case jNumber:
		return "number"
	case jBool:
		return "boolean"
	case jNull:
		return "null"
	case jArray:
		return "array"
	case jObject:
		return "object"
	}
	return "invalid"
}

// node is one JSON value. Objects keep their members in order.
type node struct {
	kind    jsonKind
	text    string // string contents, number literal or "true"/"false"
	items   []*node
	members []member
}

type member struct {
	key string
	val *node
}

func (n *node) get(key string) *node {
	for _, m := range n.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// maxDepth bounds nesting; a policy never needs more than six levels.
const maxDepth = 32

// errSyntax is wrapped by every JSON-level failure.
var errSyntax = errors.New("syntax errors in policy")

// parseJSON decodes data into a tree, rejecting trailing data.
func parseJSON(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := readNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the policy document", errSyntax)
	}
	return n, nil
}

func readNode(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting is too deep", errSyntax)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSyntax, err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("%w: %v", errSyntax, err)
				}
				k, _ := kt.(string)
				if n.get(k) != nil {
					// reference_policies_grammar.md, "Policy grammar notes": individual
					// elements must not contain multiple instances of the same key.
					return nil, fmt.Errorf("%w: duplicate key %q", errSyntax, k)
				}
				v, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, member{key: k, val: v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %v", errSyntax, err)
			}
			return n, nil
		case '[':
			n := &node{kind: jArray}
			for dec.More() {
				v, err := readNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%w: %v", errSyntax, err)
			}
			return n, nil
		}
	case string:
		return &node{kind: jString, text: t}, nil
	case json.Number:
		return &node{kind: jNumber, text: string(t)}, nil
	case bool:
		return &node{kind: jBool, text: strconv.FormatBool(t)}, nil
	case nil:
		return &node{kind: jNull}, nil
	}
	return nil, fmt.Errorf("%w: unexpected token", errSyntax)
}

// marshal writes the tree back as compact JSON with members in their original
// order. Parse→marshal→parse yields the same tree (FuzzParse checks it).
func (n *node) marshal(b *bytes.Buffer) {
	switch n.kind {
	case jString:
		writeString(b, n.text)
	case jNumber, jBool:
		b.WriteString(n.text)
	case jNull:
		b.WriteString("null")
	case jArray:
		b.WriteByte('[')
		for i, it := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.marshal(b)
		}
		b.WriteByte(']')
	case jObject:
		b.WriteByte('{')
		for i, m := range n.members {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, m.key)
			b.WriteByte(':')
			m.val.marshal(b)
		}
		b.WriteByte('}')
	}
}

func writeString(b *bytes.Buffer, s string) {
	// json.Marshal of a string cannot fail; it escapes HTML characters, which
	// round-trips unchanged.
	out, _ := json.Marshal(s)
	b.Write(out)
}

// stringList reads an element AWS accepts as a string or an array of strings
// (reference_policies_grammar.md, "Conventions used in this grammar": the
// brackets are optional for a single value).
func stringList(n *node) ([]string, bool) {
	switch n.kind {
	case jString:
		return []string{n.text}, true
	case jArray:
		out := make([]string, 0, len(n.items))
		for _, it := range n.items {
			if it.kind != jString {
				return nil, false
			}
			out = append(out, it.text)
		}
		return out, true
	}
	return nil, false
}

// scalarList reads a condition value list: strings, numbers and booleans,
// alone or in an array ("Quotation marks are optional for numeric and Boolean
// values", reference_policies_grammar.md).
func scalarList(n *node) ([]string, bool) {
	switch n.kind {
	case jString, jNumber, jBool:
		return []string{n.text}, true
	case jArray:
		out := make([]string, 0, len(n.items))
		for _, it := range n.items {
			switch it.kind {
			case jString, jNumber, jBool:
				out = append(out, it.text)
			default:
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

func quote(s string) string { return strconv.Quote(s) }

func lower(s string) string { return strings.ToLower(s) }
