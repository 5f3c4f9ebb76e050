package metrics

import (
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	r := New()
	r.Observe("kms", "Encrypt", "", 80*time.Microsecond)
	r.Observe("kms", "Encrypt", "", 3*time.Millisecond)
	r.Observe("kms", "Encrypt", "AccessDeniedException", 200*time.Microsecond)
	r.Observe("iam", "CreateUser", "", 20*time.Second)
	r.AddGauge(Gauge{Name: "trent_keys", Help: "Keys.", Value: func() float64 { return 7 }})
	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`trent_requests_total{service="kms",operation="Encrypt"} 3`,
		`trent_requests_total{service="iam",operation="CreateUser"} 1`,
		`trent_request_errors_total{service="kms",operation="Encrypt",code="AccessDeniedException"} 1`,
		`trent_request_duration_seconds_bucket{service="kms",operation="Encrypt",le="0.0001"} 1`,
		`trent_request_duration_seconds_bucket{service="kms",operation="Encrypt",le="0.00025"} 2`,
		`trent_request_duration_seconds_bucket{service="kms",operation="Encrypt",le="0.005"} 3`,
		`trent_request_duration_seconds_bucket{service="iam",operation="CreateUser",le="10"} 0`,
		`trent_request_duration_seconds_bucket{service="iam",operation="CreateUser",le="+Inf"} 1`,
		`trent_request_duration_seconds_count{service="kms",operation="Encrypt"} 3`,
		`trent_request_duration_seconds_sum{service="kms",operation="Encrypt"} 0.00328`,
		"# TYPE trent_keys gauge\ntrent_keys 7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q:\n%s", want, out)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	r := New()
	b.ReportAllocs()
	for b.Loop() {
		r.Observe("kms", "Encrypt", "", 90*time.Microsecond)
	}
}
