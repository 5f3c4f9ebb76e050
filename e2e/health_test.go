package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/trentkms/trent/internal/testserver"
)

// readyReport is the JSON of /readyz.
type readyReport struct {
	Ready  bool
	Checks []struct {
		Name   string
		OK     bool
		Detail string
	}
	CustomKeyStores []struct {
		ID              string
		ConnectionState string
		NodeConnected   bool
	}
}

func readyReportOf(t *testing.T, url string) (int, readyReport) {
	t.Helper()
	code, body := readyz(t, url)
	var rep readyReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("readyz %q: %v", body, err)
	}
	return code, rep
}

// A node on the embedded store is ready once it serves, and its readiness
// report on the metrics listener shows its custom key stores and whether
// this node is connected to them; a disconnected store does not make the
// node unready.
func TestReadinessReportsCustomKeyStores(t *testing.T) {
	const cluster, pin = "cluster-3b34c5defgh", "kmsuser-pass"
	env := append(softHSMToken(t, cluster, "trent-ready", pin), "TRENT_METRICS_LISTEN=127.0.0.1:0")
	srv := testserver.Start(t, testserver.Options{Env: env})
	url := strings.TrimSuffix(srv.MetricsURL, "/metrics") + "/readyz"
	code, rep := readyReportOf(t, url)
	if code != http.StatusOK || !rep.Ready || len(rep.Checks) != 3 || len(rep.CustomKeyStores) != 0 {
		t.Fatalf("readyz of a new node = %d %+v", code, rep)
	}
	for _, c := range rep.Checks {
		if !c.OK || (c.Name == "view" && !strings.Contains(c.Detail, "local")) {
			t.Fatalf("check %+v of a node on bolt", c)
		}
	}

	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	created, err := c.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{CustomKeyStoreName: aws.String("hsm"),
		CloudHsmClusterId: aws.String(cluster), TrustAnchorCertificate: aws.String(trustAnchor(t)), KeyStorePassword: aws.String(pin)})
	if err != nil {
		t.Fatal(err)
	}
	id := *created.CustomKeyStoreId
	code, rep = readyReportOf(t, url)
	if code != http.StatusOK || len(rep.CustomKeyStores) != 1 || rep.CustomKeyStores[0].ID != id ||
		rep.CustomKeyStores[0].ConnectionState != "DISCONNECTED" || rep.CustomKeyStores[0].NodeConnected {
		t.Fatalf("readyz with a disconnected key store = %d %+v", code, rep)
	}
	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	code, rep = readyReportOf(t, url)
	if code != http.StatusOK || len(rep.CustomKeyStores) != 1 || rep.CustomKeyStores[0].ConnectionState != "CONNECTED" || !rep.CustomKeyStores[0].NodeConnected {
		t.Fatalf("readyz with a connected key store = %d %+v", code, rep)
	}
	// The API listener does not offer the probes unless asked to.
	if code, _ := readyz(t, srv.URL+"/readyz"); code == http.StatusOK {
		t.Fatal("/readyz answered on the API listener without --health-on-listen")
	}
}
