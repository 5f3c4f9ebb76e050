package softhsmtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Init makes every token asked for, in a configuration of their own: two
// calls share nothing.
func TestInit(t *testing.T) {
	a := Init(t, Token{Label: "one", PIN: "pin-1111"}, Token{Label: "two", PIN: "pin-2222"})
	b := Init(t, Token{Label: "three", PIN: "pin-3333"})
	if a == b {
		t.Fatalf("two Init calls returned one configuration %s", a)
	}
	for conf, want := range map[string][]string{a: {"one", "two"}, b: {"three"}} {
		cmd := exec.Command("softhsm2-util", "--show-slots")
		cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("softhsm2-util --show-slots: %v: %s", err, out)
		}
		labels := 0
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "Label:" {
				labels++
				if !strings.Contains(strings.Join(want, " "), f[1]) {
					t.Errorf("%s has token %q, want only %v", conf, f[1], want)
				}
			}
		}
		if labels != len(want) {
			t.Errorf("%s has %d tokens, want %v\n%s", conf, labels, want, out)
		}
	}
}
