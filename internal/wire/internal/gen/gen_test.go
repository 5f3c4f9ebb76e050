package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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

// TestGeneratedUpToDate regenerates kmsapi from the model in ../shared and
// compares it with the checked-in file.
func TestGeneratedUpToDate(t *testing.T) {
	root := moduleRoot(t)
	modelPath := filepath.Join(root, "..", "shared", "aws-models", "kms", "service-2.json")
	if _, err := os.Stat(modelPath); err != nil {
		t.Skipf("KMS model not available: %v", err)
	}
	out := filepath.Join(t.TempDir(), "zz_generated.go")
	if err := run(modelPath, "kmsapi", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "internal", "wire", "kmsapi", "zz_generated.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/wire/kmsapi/zz_generated.go is stale: run go generate ./internal/wire/...")
	}
}

// TestOtherModels generates the other JSON-protocol models in ../shared, so
// that the generator stays generic.
func TestOtherModels(t *testing.T) {
	root := moduleRoot(t)
	models, _ := filepath.Glob(filepath.Join(root, "..", "shared", "aws-models", "*", "service-2.json"))
	if len(models) == 0 {
		t.Skip("no models available")
	}
	for _, path := range models {
		m, err := loadModel(path)
		if err != nil && strings.Contains(err.Error(), "want json") {
			continue // a Query-protocol model (IAM, STS)
		}
		name := filepath.Base(filepath.Dir(path))
		t.Run(name, func(t *testing.T) {
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Generate(m, name+"api"); err != nil {
				t.Fatal(err)
			}
		})
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
