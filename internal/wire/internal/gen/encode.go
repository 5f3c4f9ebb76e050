package main

import "fmt"

// encodeMethod is the method that appends a response as JSON, which
// wire.WriteJSON prefers to encoding/json; no member may take its name.
const encodeMethod = "AppendJSON"

// handEncoded are, by the model's serviceId, the structures whose JSON
// encoding is written by hand beside the generated code (a MarshalJSON
// method), and why: they, and the structures that hold them, get no
// AppendJSON, so encoding/json calls that method.
var handEncoded = map[string]map[string]string{
	"KMS": {"GrantConstraints": "kmsapi/constraints.go: an empty EncryptionContextEquals is sent, not omitted"},
}

// encodable reports whether structure name gets an AppendJSON method: in
// the json protocol, when every member is a string, blob, boolean, integer,
// long or timestamp, a list of strings or of such structures, a map of
// strings to strings or such a structure, and no member takes the method's
// name. A recursive structure does not.
func (g *generator) encodable(name string) bool {
	if g.query() {
		return false
	}
	if v, ok := g.enc[name]; ok {
		return v
	}
	g.enc[name] = false // until proven, which also stops recursion
	s := g.m.Shapes[name]
	if s.Type != "structure" || s.Exception {
		return false
	}
	if _, ok := handEncoded[g.m.Metadata.ServiceID][name]; ok {
		return false
	}
	for _, mm := range s.Members {
		if exported(mm.Name) == encodeMethod || g.encodeKind(mm.Shape) == "" {
			return false
		}
	}
	g.enc[name] = true
	return true
}

// encodeKind names how a member of shape name is written, or "" when
// AppendJSON cannot write it.
func (g *generator) encodeKind(name string) string {
	s := g.m.Shapes[name]
	switch s.Type {
	case "string", "blob", "boolean", "integer", "long", "timestamp":
		return s.Type
	case "structure":
		if g.encodable(name) {
			return "structure"
		}
	case "list":
		switch g.encodeKind(s.Member.Shape) {
		case "string":
			return "strings"
		case "structure":
			return "structures"
		}
	case "map":
		if g.m.Shapes[s.Key.Shape].Type == "string" && g.m.Shapes[s.Value.Shape].Type == "string" {
			return "map"
		}
	}
	return ""
}

// genEncoders writes AppendJSON for every operation's output that can have
// one and for the structures they hold.
func (g *generator) genEncoders() error {
	if g.query() {
		return nil
	}
	for name := range handEncoded[g.m.Metadata.ServiceID] {
		if s := g.m.Shapes[name]; s == nil || s.Type != "structure" {
			return fmt.Errorf("hand-encoded structure %s is not in the model", name)
		}
	}
	todo := map[string]bool{}
	var reach func(name string)
	reach = func(name string) {
		if todo[name] || !g.encodable(name) {
			return
		}
		todo[name] = true
		for _, mm := range g.m.Shapes[name].Members {
			s := g.m.Shapes[mm.Shape]
			switch {
			case s.Type == "structure":
				reach(mm.Shape)
			case s.Type == "list" && g.m.Shapes[s.Member.Shape].Type == "structure":
				reach(s.Member.Shape)
			}
		}
	}
	for _, op := range sortedKeys(g.m.Operations) {
		if out := g.m.Operations[op].Output; out != nil {
			reach(out.Shape)
		}
	}
	for _, name := range sortedKeys(todo) {
		g.genEncoder(name)
	}
	return nil
}

// genEncoder writes the AppendJSON method of structure name: the members in
// the order of the struct's fields, omitted when empty (omitempty), except
// the lists AWS always sends, which are [] when nil (see genMarshal).
func (g *generator) genEncoder(name string) {
	s := g.m.Shapes[name]
	g.p("// %s appends s as JSON, byte for byte as encoding/json writes it", encodeMethod)
	g.p("// (wire.WriteJSON uses it in place of encoding/json).")
	g.p("func (s *%s) %s(b []byte) []byte {", exported(name), encodeMethod)
	if len(s.Members) > 0 {
		g.p("start := len(b)")
	}
	g.p("b = append(b, '{')")
	for _, mm := range s.Members {
		f := "s." + exported(mm.Name)
		member := fmt.Sprintf("b = wire.AppendJSONMember(b, start, %q)", mm.Name)
		always := g.m.always[name][mm.Name]
		switch g.encodeKind(mm.Shape) {
		case "string":
			g.p("if %s != nil {\n%s\nb = wire.AppendJSONString(b, *%s)\n}", f, member, f)
		case "boolean":
			g.p("if %s != nil {\n%s\nb = wire.AppendJSONBool(b, *%s)\n}", f, member, f)
		case "integer", "long":
			g.p("if %s != nil {\n%s\nb = wire.AppendJSONInt(b, int64(*%s))\n}", f, member, f)
		case "timestamp":
			g.p("if %s != nil {\n%s\nb = wire.AppendJSONTimestamp(b, *%s)\n}", f, member, f)
		case "blob":
			g.p("if len(%s) != 0 {\n%s\nb = wire.AppendJSONBlob(b, %s)\n}", f, member, f)
		case "structure":
			g.p("if %s != nil {\n%s\nb = %s.%s(b)\n}", f, member, f, encodeMethod)
		case "map":
			g.p("if len(%s) != 0 {\n%s\nb = wire.AppendJSONStringMap(b, %s)\n}", f, member, f)
		case "strings", "structures":
			if always {
				g.p("{\n%s", member)
			} else {
				g.p("if len(%s) != 0 {\n%s", f, member)
			}
			if g.encodeKind(mm.Shape) == "strings" {
				g.p("b = append(b, '[')\nfor i, v := range %s {\nif i > 0 { b = append(b, ',') }\nb = wire.AppendJSONString(b, v)\n}", f)
			} else {
				g.p("b = append(b, '[')\nfor i := range %s {\nif i > 0 { b = append(b, ',') }\nb = %s[i].%s(b)\n}", f, f, encodeMethod)
			}
			g.p("b = append(b, ']')\n}")
		}
	}
	g.p("return append(b, '}')")
	g.p("}")
	g.p("")
}
