package wire_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/wire"
)

func TestTimestampUnmarshal(t *testing.T) {
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	tests := []struct {
		name string
		json string
		want time.Time
	}{
		{"integer", `1700000000`, ms(1700000000000)},
		{"fraction", `1700000000.123`, ms(1700000000123)},
		{"java double", `1.700000000123E9`, ms(1700000000123)},
		{"lower exponent", `1.7e9`, ms(1700000000000)},
		{"exponent with sign", `1.7E+09`, ms(1700000000000)},
		{"rounds to the millisecond", `1700000000.1236`, ms(1700000000124)},
		{"zero", `0`, ms(0)},
		{"before the epoch", `-1.5`, ms(-1500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ts wire.Timestamp
			if err := json.Unmarshal([]byte(tt.json), &ts); err != nil {
				t.Fatal(err)
			}
			if !ts.Time().Equal(tt.want) {
				t.Errorf("got %v, want %v", ts.Time(), tt.want)
			}
		})
	}
	for _, bad := range []string{`"2023-11-14T22:13:20Z"`, `"1700000000"`, `true`, `1e400`} {
		var ts wire.Timestamp
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	var p struct {
		T *wire.Timestamp `json:"T"`
	}
	if err := json.Unmarshal([]byte(`{"T": null}`), &p); err != nil || p.T != nil {
		t.Errorf("null: %v %v", err, p.T)
	}
}

func TestTimestampMarshal(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"milliseconds", time.UnixMilli(1700000000123), `1.700000000123E9`},
		{"whole seconds", time.Unix(1700000000, 0), `1.7E9`},
		{"sub-millisecond is truncated", time.Unix(1700000000, 123456789), `1.700000000123E9`},
		{"ten digits", time.Unix(1234567890, 0), `1.23456789E9`},
		{"epoch", time.Unix(0, 0), `0.0`},
		{"small values are plain", time.Unix(86400, 0), `86400.0`},
		{"small with fraction", time.UnixMilli(1500), `1.5`},
		{"before the epoch", time.Unix(-100000000, 0), `-1.0E8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(wire.Timestamp(tt.t))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got %s, want %s", b, tt.want)
			}
			var back wire.Timestamp
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if want := tt.t.Truncate(time.Millisecond); !back.Time().Equal(want) {
				t.Errorf("round trip: got %v, want %v", back.Time(), want)
			}
		})
	}
}
