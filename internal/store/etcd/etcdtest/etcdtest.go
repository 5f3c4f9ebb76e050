// Package etcdtest runs real etcd members (go.etcd.io/etcd/server/v3/embed)
// inside a test process, on loopback ports, for tests that need a cluster to
// lose and regain: members can be stopped and restarted on the same ports and
// data, so clients reconnect as they would to a restarted etcd.
//
// It is for tests only; nothing in the trent binary imports it.
package etcdtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// readyWithin bounds how long a starting cluster may take to elect a leader
// on a busy test machine.
const readyWithin = 60 * time.Second

// Cluster is a running etcd cluster of embedded members.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	members []*member
}

type member struct {
	cfg    *embed.Config
	e      *embed.Etcd // nil while stopped
	client string      // host:port
}

// Start runs an n-member cluster and waits until it has a leader. It is
// closed when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	dir := t.TempDir()
	ports, err := freePorts(2 * n)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{t: t}
	var initial []string
	for i := range n {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i])}
		peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		// Its shutdown logs errors about closed listeners: keep test output clean.
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.SnapshotCount = 1000
		cfg.SnapshotCatchUpEntries = 100
		cfg.QuotaBackendBytes = 64 << 20
		// Elections fast enough for tests, slow enough that a busy two-core
		// machine does not start spurious ones.
		cfg.TickMs, cfg.ElectionMs = 25, 250
		cfg.InitialClusterToken = "trent-etcdtest"
		initial = append(initial, cfg.Name+"="+peer.String())
		c.members = append(c.members, &member{cfg: cfg, client: client.Host})
	}
	for _, m := range c.members {
		m.cfg.InitialCluster = strings.Join(initial, ",")
	}
	t.Cleanup(c.close)
	// Members of a new cluster wait for each other: start them all, then wait.
	for i := range c.members {
		if err := c.start(i); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range c.members {
		if err := waitReady(m.e); err != nil {
			t.Fatalf("etcd member %d: %v", i, err)
		}
	}
	return c
}

func (c *Cluster) start(i int) error {
	m := c.members[i]
	e, err := embed.StartEtcd(m.cfg)
	if err != nil {
		return fmt.Errorf("etcd member %d: %w", i, err)
	}
	m.e = e
	return nil
}

func waitReady(e *embed.Etcd) error {
	select {
	case <-e.Server.ReadyNotify():
		return nil
	case err := <-e.Err():
		return err
	case <-time.After(readyWithin):
		return errors.New("not ready within " + readyWithin.String())
	}
}

// Endpoints are the members' client addresses, host:port.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.client)
	}
	return out
}

// StoreURL is the --store value of trent serve for this cluster, with the
// records under prefix (a path ending in "/", e.g. "/trent/").
func (c *Cluster) StoreURL(prefix string) string {
	return "etcd://" + strings.Join(c.Endpoints(), ",") + prefix
}

// Leader returns the index of the member that is leader now, or -1.
func (c *Cluster) Leader() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.e != nil && m.e.Server.Leader() == m.e.Server.MemberID() {
			return i
		}
	}
	return -1
}

// Stop stops member i, as a crashed or unreachable etcd: its listeners close
// and its clients' connections fail.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[i]
	if m.e == nil {
		return
	}
	m.e.Close()
	m.e = nil
}

// Restart starts a stopped member again on its ports and data. It does not
// wait for the member to rejoin: without a quorum it cannot.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.members[i].e != nil {
		return
	}
	// The member's ports were just released; another listener on this
	// machine could have taken one in between, which the error names.
	if err := c.start(i); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.members {
		if m.e != nil {
			m.e.Close()
			m.e = nil
		}
	}
}

// freePorts finds n loopback ports free now (embed cannot listen on port 0).
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
