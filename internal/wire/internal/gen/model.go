package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The protocols the generator supports.
const (
	protocolJSON  = "json"  // AWS JSON 1.1 (KMS, Organizations)
	protocolQuery = "query" // AWS Query with XML responses (IAM, STS)
)

// model is the part of a botocore service-2.json the generator reads.
type model struct {
	Metadata struct {
		Protocol       string `json:"protocol"`
		ServiceID      string `json:"serviceId"`
		APIVersion     string `json:"apiVersion"`
		TargetPrefix   string `json:"targetPrefix"`
		JSONVersion    string `json:"jsonVersion"`
		ServiceAbbrev  string `json:"serviceAbbreviation"`
		ServiceFull    string `json:"serviceFullName"`
		EndpointPrefix string `json:"endpointPrefix"`
		XMLNamespace   string `json:"xmlNamespace"`
	} `json:"metadata"`
	Operations map[string]*operation `json:"operations"`
	Shapes     map[string]*shape     `json:"shapes"`

	// always holds, by structure, the list members AWS sends even when
	// empty ("Keys": []), which the generated encoder writes as [] when
	// nil: see loadAlwaysSent. Only for the json protocol.
	always map[string]map[string]bool
}

// ref is a reference to a shape, with the serialization traits a
// reference may carry.
type ref struct {
	Shape           string `json:"shape"`
	LocationName    string `json:"locationName"`    // the member's name on the wire
	Flattened       bool   `json:"flattened"`       // a list or map without its wrapper element
	TimestampFormat string `json:"timestampFormat"` // overrides the protocol's default
	ResultWrapper   string `json:"resultWrapper"`   // Query output: the Result element's name
	XMLAttribute    bool   `json:"xmlAttribute"`
	XMLNamespace    *struct {
		URI string `json:"uri"`
	} `json:"xmlNamespace"`
}

type operation struct {
	Name   string `json:"name"`
	Input  *ref   `json:"input"`
	Output *ref   `json:"output"`
	Errors []ref  `json:"errors"`
}

type shape struct {
	Type      string   `json:"type"`
	Members   members  `json:"members"`
	Required  []string `json:"required"`
	Min       *int64   `json:"min"`
	Max       *int64   `json:"max"`
	Pattern   string   `json:"pattern"`
	Enum      []string `json:"enum"`
	Member    *ref     `json:"member"`
	Key       *ref     `json:"key"`
	Value     *ref     `json:"value"`
	Sensitive bool     `json:"sensitive"`
	Flattened bool     `json:"flattened"`
	Exception bool     `json:"exception"`
	// TimestampFormat overrides the protocol's default format.
	TimestampFormat string `json:"timestampFormat"`
	Fault           bool   `json:"fault"`
	Error           *struct {
		Code           string `json:"code"`
		HTTPStatusCode int    `json:"httpStatusCode"`
		SenderFault    bool   `json:"senderFault"`
	} `json:"error"`
}

// member is one member of a structure, in model order.
type member struct {
	Name string
	ref
}

// members keeps the order in which the model lists a structure's members,
// which a Go map would lose: validation reports failures in that order.
type members []member

func (m *members) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("members: want an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		var r ref
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("member %s: %w", name, err)
		}
		*m = append(*m, member{Name: name, ref: r})
	}
	_, err := dec.Token()
	return err
}

func loadModel(path string) (*model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch m.Metadata.Protocol {
	case protocolJSON:
	case protocolQuery:
		if m.Metadata.XMLNamespace == "" {
			return nil, fmt.Errorf("%s: a query model without xmlNamespace", path)
		}
	default:
		return nil, fmt.Errorf("%s: protocol %q, want json or query", path, m.Metadata.Protocol)
	}
	for name, op := range m.Operations {
		for _, r := range append([]ref{deref(op.Input), deref(op.Output)}, op.Errors...) {
			if r.Shape != "" && m.Shapes[r.Shape] == nil {
				return nil, fmt.Errorf("operation %s: unknown shape %s", name, r.Shape)
			}
		}
	}
	for name, s := range m.Shapes {
		for _, r := range []*ref{s.Member, s.Key, s.Value} {
			if r != nil && m.Shapes[r.Shape] == nil {
				return nil, fmt.Errorf("shape %s: unknown shape %s", name, r.Shape)
			}
		}
		for _, mm := range s.Members {
			if m.Shapes[mm.Shape] == nil {
				return nil, fmt.Errorf("shape %s member %s: unknown shape %s", name, mm.Name, mm.Shape)
			}
		}
	}
	if m.Metadata.Protocol == protocolJSON {
		if err := m.loadAlwaysSent(filepath.Dir(path)); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// loadAlwaysSent finds the list members that AWS sends even when they are
// empty, from the two files botocore keeps beside a model:
//   - paginators-1.json: the result_key of a paginated operation is the
//     page itself, which AWS sends as [] when there is nothing to list
//     (ListKeys "Keys", ListAliases "Aliases", …);
//   - examples-1.json: a member that a documented response shows as []
//     (KMS's MultiRegionConfiguration.ReplicaKeys of a primary key without
//     replicas, ReplicateKey's ReplicaTags).
//
// A file that is absent contributes nothing; one that names a member the
// model does not have, or a result_key that is not a list, fails.
func (m *model) loadAlwaysSent(dir string) error {
	m.always = map[string]map[string]bool{}
	var pag struct {
		Pagination map[string]struct {
			ResultKey any `json:"result_key"`
		} `json:"pagination"`
	}
	if err := readOptional(filepath.Join(dir, "paginators-1.json"), &pag); err != nil {
		return err
	}
	for _, op := range sortedKeys(pag.Pagination) {
		o := m.Operations[op]
		if o == nil || o.Output == nil {
			return fmt.Errorf("paginators-1.json: %s: no such operation with an output", op)
		}
		var names []string
		switch rk := pag.Pagination[op].ResultKey.(type) {
		case string:
			names = []string{rk}
		case []any:
			for _, n := range rk {
				s, _ := n.(string)
				names = append(names, s)
			}
		}
		for _, name := range names {
			if err := m.markAlways(o.Output.Shape, name); err != nil {
				return fmt.Errorf("paginators-1.json: %s: %w", op, err)
			}
		}
	}
	var ex struct {
		Examples map[string][]struct {
			Output any `json:"output"`
		} `json:"examples"`
	}
	if err := readOptional(filepath.Join(dir, "examples-1.json"), &ex); err != nil {
		return err
	}
	for _, op := range sortedKeys(ex.Examples) {
		o := m.Operations[op]
		if o == nil {
			return fmt.Errorf("examples-1.json: %s: no such operation", op)
		}
		for _, e := range ex.Examples[op] {
			if o.Output != nil && e.Output != nil {
				if err := m.walkExample(o.Output.Shape, e.Output); err != nil {
					return fmt.Errorf("examples-1.json: %s: %w", op, err)
				}
			}
		}
	}
	return nil
}

// walkExample marks the members of shape name that value v, a documented
// response, shows as empty lists. Members the model does not know are
// skipped: examples document, the model defines.
func (m *model) walkExample(name string, v any) error {
	s := m.Shapes[name]
	switch s.Type {
	case "structure":
		obj, _ := v.(map[string]any)
		for _, mm := range s.Members {
			mv, ok := obj[mm.Name]
			if !ok {
				continue
			}
			if l, ok := mv.([]any); ok && len(l) == 0 && m.Shapes[mm.Shape].Type == "list" {
				if err := m.markAlways(name, mm.Name); err != nil {
					return err
				}
			}
			if err := m.walkExample(mm.Shape, mv); err != nil {
				return err
			}
		}
	case "list":
		l, _ := v.([]any)
		for _, e := range l {
			if err := m.walkExample(s.Member.Shape, e); err != nil {
				return err
			}
		}
	case "map":
		obj, _ := v.(map[string]any)
		for _, k := range sortedKeys(obj) {
			if err := m.walkExample(s.Value.Shape, obj[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// markAlways records that structure name always sends its list member.
func (m *model) markAlways(name, memberName string) error {
	s := m.Shapes[name]
	for _, mm := range s.Members {
		if mm.Name != memberName {
			continue
		}
		if t := m.Shapes[mm.Shape].Type; t != "list" {
			return fmt.Errorf("%s.%s is a %s; only lists are sent empty", name, memberName, t)
		}
		if m.always[name] == nil {
			m.always[name] = map[string]bool{}
		}
		m.always[name][memberName] = true
		return nil
	}
	return fmt.Errorf("%s has no member %s", name, memberName)
}

// readOptional decodes the JSON file at path into v; a missing file leaves
// v as it is.
func readOptional(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func deref(r *ref) ref {
	if r == nil {
		return ref{}
	}
	return *r
}
