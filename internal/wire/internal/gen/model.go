package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
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
	return &m, nil
}

func deref(r *ref) ref {
	if r == nil {
		return ref{}
	}
	return *r
}
