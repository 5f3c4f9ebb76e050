package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trentkms/trent/internal/testenv"
)

// moduleRoot walks up from the working directory to the directory of go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// generated lists each checked-in package with its model in ../shared.
var generated = []struct{ model, pkg string }{
	{"kms", "kmsapi"},
	{"organizations", "orgapi"},
	{"iam", "iamapi"},
	{"sts", "stsapi"},
}

// TestGeneratedUpToDate regenerates each package from its model in
// ../shared and compares it with the checked-in file.
func TestGeneratedUpToDate(t *testing.T) {
	root := moduleRoot(t)
	for _, g := range generated {
		t.Run(g.pkg, func(t *testing.T) {
			modelPath := filepath.Join(root, "..", "shared", "aws-models", g.model, "service-2.json")
			if _, err := os.Stat(modelPath); err != nil {
				testenv.Missing(t, "model not available: %v", err)
			}
			out := filepath.Join(t.TempDir(), "zz_generated.go")
			if err := run(modelPath, g.pkg, out); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(root, "internal", "wire", g.pkg, "zz_generated.go"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("internal/wire/%s/zz_generated.go is stale: run go generate ./internal/wire/...", g.pkg)
			}
		})
	}
}

// TestOtherModels generates every model in ../shared, so that the
// generator stays generic.
func TestOtherModels(t *testing.T) {
	root := moduleRoot(t)
	models, _ := filepath.Glob(filepath.Join(root, "..", "shared", "aws-models", "*", "service-2.json"))
	if len(models) == 0 {
		testenv.Missing(t, "no models available")
	}
	for _, path := range models {
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			m, err := loadModel(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Generate(m, name+"api"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRewrites checks each pair of RE2 patterns that stands for a model
// pattern against values the model pattern accepts and rejects.
func TestRewrites(t *testing.T) {
	tests := []struct {
		pattern string
		accept  []string
		reject  []string
	}{
		{
			pattern: `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`,
			accept:  []string{"abc", "a-b", "my-alias-1", "a-b-c", strings.Repeat("a", 63), "a" + strings.Repeat("-b", 31)},
			reject:  []string{"ab", "a--b", "-ab", "ab-", "A-b", "a_b", strings.Repeat("a", 64), "a---b", ""},
		},
	}
	for _, tt := range tests {
		rw, ok := rewrites[tt.pattern]
		if !ok {
			t.Fatalf("no rewrite of %s", tt.pattern)
		}
		both := func(s string) bool {
			return mustCompile(t, rw[0]).MatchString(s) && mustCompile(t, rw[1]).MatchString(s)
		}
		for _, s := range tt.accept {
			if !both(s) {
				t.Errorf("%q rejected, the model accepts it", s)
			}
		}
		for _, s := range tt.reject {
			if both(s) {
				t.Errorf("%q accepted, the model rejects it", s)
			}
		}
	}
	if len(rewrites) != len(tests) {
		t.Errorf("%d rewrites, %d tested", len(rewrites), len(tests))
	}
}

func TestGoPattern(t *testing.T) {
	tests := []struct {
		name, pattern, in string
		match             bool
	}{
		{"anchored", `[0-9]{12}`, "111122223333", true},
		{"whole value only", `[0-9]{12}`, "x111122223333", false},
		{"java unicode escapes", `[\u0020-\u00FF]*`, "héllo", true},
		{"outside the escape range", `[\u0020-\u00FF]*`, "\u0100", false},
		{"already anchored", `^[a-f0-9]+$`, "abc", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re, err := goPattern(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustCompile(t, re).MatchString(tt.in); got != tt.match {
				t.Errorf("%s on %q: %v, want %v", re, tt.in, got, tt.match)
			}
		})
	}
	if _, err := goPattern(`(?<=a)b`); err == nil {
		t.Error("a pattern RE2 cannot compile must fail generation")
	}
}
func mustCompile(t *testing.T, re string) *regexp.Regexp {
	t.Helper()
	r, err := regexp.Compile(re)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFastJSON checks which structures get a generated JSON decoder.
func TestFastJSON(t *testing.T) {
	sh := func(typ string) *shape { return &shape{Type: typ} }
	st := func(ms ...string) *shape {
		s := &shape{Type: "structure"}
		for i := 0; i < len(ms); i += 2 {
			s.Members = append(s.Members, member{Name: ms[i], ref: ref{Shape: ms[i+1]}})
		}
		return s
	}
	m := &model{Shapes: map[string]*shape{
		"Str": sh("string"), "Blob": sh("blob"), "Bool": sh("boolean"), "Int": sh("integer"),
		"Long": sh("long"), "Float": sh("float"), "Time": sh("timestamp"),
		"Strs":         {Type: "list", Member: &ref{Shape: "Str"}},
		"Ints":         {Type: "list", Member: &ref{Shape: "Int"}},
		"Inners":       {Type: "list", Member: &ref{Shape: "Inner"}},
		"Floaties":     {Type: "list", Member: &ref{Shape: "HasFloat"}},
		"StrMap":       {Type: "map", Key: &ref{Shape: "Str"}, Value: &ref{Shape: "Str"}},
		"BoolMap":      {Type: "map", Key: &ref{Shape: "Str"}, Value: &ref{Shape: "Bool"}},
		"Flat":         st("A", "Str", "B", "Blob", "C", "Bool", "D", "Int", "E", "Long", "F", "Strs", "G", "StrMap", "H", "Inner"),
		"Inner":        st("X", "Str"),
		"Empty":        st(),
		"HasFloat":     st("A", "Str", "F", "Float"),
		"HasTime":      st("T", "Time"),
		"HasInts":      st("I", "Ints"),
		"HasList":      st("L", "Inners"),
		"HasFloatList": st("L", "Floaties"),
		"HasBools":     st("M", "BoolMap"),
		"Nested":       st("N", "HasFloat"),
		"Folded":       st("Name", "Str", "NAME", "Str"),
		"Method":       st("DecodeJSONFrom", "Str"),
		"Self":         st("S", "Self"),
	}}
	m.Metadata.Protocol = protocolJSON
	want := map[string]bool{
		"Flat": true, "Inner": true, "Empty": true, "HasTime": true, "HasList": true,
		// Names match exactly, so two that differ only in case are two members.
		"Folded":   true,
		"HasFloat": false, "HasInts": false, "HasBools": false, "Nested": false, "HasFloatList": false,
		"Method": false, "Self": false,
	}
	g := &generator{m: m, fast: map[string]bool{}}
	for name, w := range want {
		if got := g.fastJSON(name); got != w {
			t.Errorf("fastJSON(%s) = %v, want %v", name, got, w)
		}
	}
	m.Metadata.Protocol = protocolQuery
	if (&generator{m: m, fast: map[string]bool{}}).fastJSON("Flat") {
		t.Error("a Query model got a JSON decoder")
	}

	// The response encoders take the same shapes, and a structure with a
	// hand-written encoding neither gets one nor lets its holders.
	m.Metadata.Protocol, m.Metadata.ServiceID = protocolJSON, "KMS"
	m.Shapes["GrantConstraints"] = st("A", "StrMap")
	m.Shapes["HoldsHand"] = st("C", "GrantConstraints")
	m.Shapes["AppendJSON"] = st()
	m.Shapes["EncMethod"] = st("AppendJSON", "Str")
	wantEnc := map[string]bool{
		"Flat": true, "HasTime": true, "HasList": true, "Folded": true, "Method": true,
		"HasFloat": false, "HasFloatList": false, "Self": false,
		"GrantConstraints": false, "HoldsHand": false, "EncMethod": false,
	}
	g = &generator{m: m, fast: map[string]bool{}, enc: map[string]bool{}}
	for name, w := range wantEnc {
		if got := g.encodable(name); got != w {
			t.Errorf("encodable(%s) = %v, want %v", name, got, w)
		}
	}
}

// The audit rules must name members and operations the model has, so that
// a model update cannot leave a rule silently doing nothing; and no rule can
// show a member the model marks sensitive.
func TestAuditRules(t *testing.T) {
	base := func() *model {
		return &model{
			Operations: map[string]*operation{"Op": {Name: "Op", Input: &ref{Shape: "OpRequest"}}},
			Shapes: map[string]*shape{
				"OpRequest": {Type: "structure", Members: members{
					{Name: "KeyId", ref: ref{Shape: "Str"}}, {Name: "Secret", ref: ref{Shape: "Hidden"}},
				}},
				"Str":    {Type: "string"},
				"Hidden": {Type: "string", Sensitive: true},
			},
		}
	}
	gen := func(m *model, rules auditRules) (string, error) {
		g := &generator{m: m}
		a := &auditGen{g: g, rules: rules, nested: map[string]bool{}, hidden: map[string]bool{}}
		if err := a.check(); err != nil {
			return "", err
		}
		err := a.genTop("OpRequest", "Op")
		return g.buf.String(), err
	}
	for name, rules := range map[string]auditRules{
		"unknown omitted member": {omit: map[string]string{"Nope": "x"}},
		"unknown null operation": {null: map[string]string{"Nope": "x"}},
		"unknown renamed member": {rename: map[string]string{"OpRequest.Nope": "x"}},
	} {
		if _, err := gen(base(), rules); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	src, err := gen(base(), auditRules{rename: map[string]string{"OpRequest.Secret": "shown"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(src, "s.Secret") || strings.Contains(src, `"shown"`) || !strings.Contains(src, `"keyId"`) {
		t.Errorf("generated:\n%s", src)
	}
}

// TestAlwaysSent checks which list members the generated encoder sends when
// empty: a paginator's result key and a member a documented response shows
// as [], and nothing else.
func TestAlwaysSent(t *testing.T) {
	const service = `{
  "metadata": {"protocol": "json", "serviceId": "Test", "apiVersion": "2020-01-01", "targetPrefix": "Test"},
  "operations": {
    "ListThings": {"name": "ListThings", "input": {"shape": "ListThingsRequest"}, "output": {"shape": "ListThingsResponse"}},
    "DescribeThing": {"name": "DescribeThing", "output": {"shape": "DescribeThingResponse"}}
  },
  "shapes": {
    "ListThingsRequest": {"type": "structure", "members": {"Marker": {"shape": "Str"}}},
    "ListThingsResponse": {"type": "structure", "members": {"Things": {"shape": "Things"}, "Marker": {"shape": "Str"}}},
    "DescribeThingResponse": {"type": "structure", "members": {"Thing": {"shape": "Thing"}}},
    "Thing": {"type": "structure", "members": {"Parts": {"shape": "Strs"}, "Labels": {"shape": "Strs"}, "Name": {"shape": "Str"}}},
    "Things": {"type": "list", "member": {"shape": "Thing"}},
    "Strs": {"type": "list", "member": {"shape": "Str"}},
    "Str": {"type": "string"}
  }
}`
	const paginators = `{"pagination": {"ListThings": {"input_token": "Marker", "output_token": "Marker", "result_key": "Things"}}}`
	const examples = `{"version": "1.0", "examples": {"DescribeThing": [{"output": {"Thing": {"Parts": [], "Labels": ["a"], "Unknown": []}}}]}}`
	write := func(dir, name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	write(dir, "service-2.json", service)
	write(dir, "paginators-1.json", paginators)
	write(dir, "examples-1.json", examples)
	m, err := loadModel(filepath.Join(dir, "service-2.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]bool{"ListThingsResponse": {"Things": true}, "Thing": {"Parts": true}}
	if len(m.always) != len(want) || !m.always["ListThingsResponse"]["Things"] || !m.always["Thing"]["Parts"] || len(m.always["Thing"]) != 1 {
		t.Fatalf("always = %v, want %v", m.always, want)
	}
	src, err := Generate(m, "testapi")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"Things []Thing `json:\"Things\"`",
		"Parts  []string `json:\"Parts\"`",
		"Labels []string `json:\"Labels,omitempty\"`",
		"func (s ListThingsResponse) MarshalJSON() ([]byte, error) {",
		"if s.Things == nil {\n\t\ts.Things = []Thing{}\n\t}",
		"func (s Thing) MarshalJSON() ([]byte, error) {",
	} {
		if !bytes.Contains(src, []byte(s)) {
			t.Errorf("generated code lacks %q", s)
		}
	}
	if bytes.Contains(src, []byte("func (s DescribeThingResponse) MarshalJSON")) {
		t.Error("a structure without always-sent members got an encoder")
	}

	t.Run("without the files", func(t *testing.T) {
		dir := t.TempDir()
		write(dir, "service-2.json", service)
		m, err := loadModel(filepath.Join(dir, "service-2.json"))
		if err != nil || len(m.always) != 0 {
			t.Fatalf("always = %v, %v; want none", m.always, err)
		}
	})
	for _, tt := range []struct{ name, file, body, want string }{
		{"unknown result key", "paginators-1.json", `{"pagination": {"ListThings": {"result_key": "Nothing"}}}`, "has no member Nothing"},
		{"result key not a list", "paginators-1.json", `{"pagination": {"ListThings": {"result_key": "Marker"}}}`, "is a string"},
		{"unknown paginated operation", "paginators-1.json", `{"pagination": {"ListOthers": {"result_key": "Things"}}}`, "no such operation"},
		{"example of an unknown operation", "examples-1.json", `{"examples": {"Fly": [{"output": {}}]}}`, "no such operation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(dir, "service-2.json", service)
			write(dir, tt.file, tt.body)
			_, err := loadModel(filepath.Join(dir, "service-2.json"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("loadModel: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
