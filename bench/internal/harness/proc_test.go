//go:build linux

package harness

import (
	"os"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    int64
		wantErr bool
	}{
		{name: "plain", line: "42 (trent) S 1 42 42 0 -1 4194560 100 0 0 0 731 269 0 0 20 0 9 0 100 0 0", want: 1000},
		{name: "command with spaces and parens", line: "42 (a) b (c) R 1 42 42 0 -1 0 0 0 0 0 5 7 0 0 20 0 1 0 1 0 0", want: 12},
		{name: "truncated", line: "42 (trent) S 1 42", wantErr: true},
		{name: "no command", line: "42 trent S", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatTicks([]byte(tt.line))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseStatTicks = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestReadCPUSelf(t *testing.T) {
	s, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.Ticks < 0 || s.SchedNS < 0 {
		t.Fatalf("ReadCPU(self) = %+v", s)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	tests := []struct {
		name string
		q    float64
		want time.Duration
	}{
		{name: "median", q: 50, want: 50},
		{name: "p99", q: 99, want: 99},
		{name: "max", q: 100, want: 100},
		{name: "tiny q is the minimum", q: 0.1, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(d, tt.q); got != tt.want {
				t.Fatalf("Percentile(1..100, %v) = %d, want %d", tt.q, got, tt.want)
			}
		})
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Fatalf("Percentile(nil) = %d", got)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:0", "[::1]:80", "localhost:9800", "127.1.2.3:1"} {
		if err := CheckLoopback(ok); err != nil {
			t.Errorf("CheckLoopback(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0:80", "10.0.0.1:80", "example.com:80", ":80"} {
		if err := CheckLoopback(bad); err == nil {
			t.Errorf("CheckLoopback(%q) = nil, want an error", bad)
		}
	}
}

func TestReadMemorySelf(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS {
		t.Fatalf("ReadMemory(self) = %+v", m)
	}
}
