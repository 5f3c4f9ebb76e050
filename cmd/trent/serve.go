package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trentkms/trent/internal/audit"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/backup"
	"github.com/trentkms/trent/internal/health"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/metrics"
	"github.com/trentkms/trent/internal/seal"
	"github.com/trentkms/trent/internal/server"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/trace"
	"github.com/trentkms/trent/internal/usage"
)

// defaultListen is Trent's documented default address.
const defaultListen = "127.0.0.1:9800"

type serveConfig struct {
	listen, dataDir, accountID string
	regions                    []string
	rootKeyID, rootSecret      string
	logLevel                   string
	endpoints                  []string
	auditLog                   string
	metricsListen              string
	tlsCert, tlsKey            string
	store                      storeFlags
	hsms                       []string
	seal                       string
	adminSocket                string
	// The KMS resource quotas (kms.Options).
	maxKeys, maxAliases, maxKeyStores int
	ops                               opsFlags    // health, fencing, quotas, TLS reloading (ops.go)
	extra                             serveExtras // first account, logs, audit, usage, traces (serveflags.go)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newServeCmd() *cobra.Command {
	cmd, _ := newServeCommand()
	return cmd
}

// newServeCommand returns trent serve and the configuration its flags fill.
func newServeCommand() (*cobra.Command, *serveConfig) {
	c := new(serveConfig)
	// AWS KMS's resource quotas (KMS Developer Guide, resource-limits.md),
	// which the operator may change.
	quotas := []struct {
		flag, env, what string
		v               *int
		def             int
	}{
		{"max-keys-per-region", "TRENT_MAX_KEYS_PER_REGION", "KMS keys of an account in a Region, in any state", &c.maxKeys, 100000},
		{"max-aliases-per-key", "TRENT_MAX_ALIASES_PER_KEY", "aliases of one KMS key", &c.maxAliases, 50},
		{"max-custom-key-stores", "TRENT_MAX_CUSTOM_KEY_STORES", "custom key stores of an account in a Region", &c.maxKeyStores, 10},
	}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Trent server on its embedded store",
		Long: `Run the Trent server. Every flag can also be set by the environment variable
named in its help. On first start with an empty data directory Trent creates
the first account, its root access key and the root key that seals all key
material, and writes an AWS credentials file into the data directory.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.settle(cmd.Flags()); err != nil {
				return err
			}
			for _, q := range quotas {
				if v := os.Getenv(q.env); v != "" && !cmd.Flags().Changed(q.flag) {
					n, err := strconv.Atoi(v)
					if err != nil {
						return fmt.Errorf("%s: %w", q.env, err)
					}
					*q.v = n
				}
				if *q.v <= 0 {
					return fmt.Errorf("--%s: %d; a quota is a positive number", q.flag, *q.v)
				}
			}
			if err := c.ops.fromEnv(cmd.Flags()); err != nil {
				return err
			}
			return serve(cmd.Context(), *c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.listen, "listen", envOr("TRENT_LISTEN", defaultListen), "address to listen on, host:port [TRENT_LISTEN]")
	f.StringVar(&c.dataDir, "data-dir", envOr("TRENT_DATA_DIR", "./trent-data"), "directory of the store, root key and credentials file [TRENT_DATA_DIR]")
	f.StringSliceVar(&c.regions, "region", []string{"us-east-1"}, "Region to serve; repeat or comma-separate for several [TRENT_REGION]")
	f.StringVar(&c.accountID, "account-id", os.Getenv("TRENT_ACCOUNT_ID"), "the first account's 12-digit id; random if empty [TRENT_ACCOUNT_ID]")
	f.StringVar(&c.rootKeyID, "root-access-key-id", os.Getenv("TRENT_ROOT_ACCESS_KEY_ID"), "the first account's root access key id; random if empty [TRENT_ROOT_ACCESS_KEY_ID]")
	// No default from the environment here, unlike the other flags: --help
	// prints defaults, and this one is a secret (RunE reads the variable).
	f.StringVar(&c.rootSecret, "root-secret-access-key", "", "its secret access key [TRENT_ROOT_SECRET_ACCESS_KEY]")
	f.StringVar(&c.logLevel, "log-level", envOr("TRENT_LOG_LEVEL", "info"), "debug, info, warn or error [TRENT_LOG_LEVEL]")
	f.StringVar(&c.tlsCert, "tls-cert", os.Getenv("TRENT_TLS_CERT"), "PEM certificate (chain) to serve HTTPS with; needs --tls-key [TRENT_TLS_CERT]")
	f.StringVar(&c.tlsKey, "tls-key", os.Getenv("TRENT_TLS_KEY"), "PEM private key of --tls-cert [TRENT_TLS_KEY]")
	f.StringVar(&c.metricsListen, "metrics-listen", os.Getenv("TRENT_METRICS_LISTEN"), "address for Prometheus metrics at /metrics, host:port; empty: none [TRENT_METRICS_LISTEN]")
	f.StringVar(&c.auditLog, "audit-log", os.Getenv("TRENT_AUDIT_LOG"), "the audit log: a JSON-lines file of CloudTrail-shaped events, or - for stdout; default <data-dir>/audit.jsonl [TRENT_AUDIT_LOG]")
	c.store.register(f)
	f.StringVar(&c.seal, "seal", envOr("TRENT_SEAL", "file"), "what wraps the root key: file[:path=…], passphrase[:stdin|file=…|env[=NAME]][,time=,memory-mib=,threads=], "+
		"pkcs11:module=…,token=…[,pin-file=…] (PIN else from TRENT_SEAL_PIN), kms:key=…[,endpoint=URL][,region=…]; see README [TRENT_SEAL]")
	f.StringVar(&c.adminSocket, "admin-socket", os.Getenv("TRENT_ADMIN_SOCKET"), "the Unix socket trent unseal talks to; default <data-dir>/admin.sock [TRENT_ADMIN_SOCKET]")
	f.StringArrayVar(&c.endpoints, "endpoint", nil, "a VPC endpoint listener: id=vpce-…,vpc=vpc-…,listen=host:port[,policy=FILE]; repeatable [TRENT_ENDPOINTS, ';'-separated]")
	for _, q := range quotas {
		f.IntVar(q.v, q.flag, q.def, "quota of "+q.what+"; AWS's by default ["+q.env+"]")
	}
	c.ops.register(f)
	f.StringArrayVar(&c.hsms, "hsm", nil, "a PKCS#11 token usable as a CloudHSM cluster by custom key stores: cluster-<id>=module=<path to .so>,token=<label>; repeatable [TRENT_HSMS, ';'-separated]")
	c.extra.register(f)
	f.String(configFlag, os.Getenv("TRENT_CONFIG"), "a YAML file of settings, one key per flag (see docs/trent.example.yaml); flags and environment variables override it [TRENT_CONFIG]")
	return cmd, c
}

// settle completes c once its flags are parsed: the configuration file fills
// what neither the command line nor the environment set, then the
// environment variables that are not flag defaults apply.
func (c *serveConfig) settle(fs *pflag.FlagSet) error {
	if err := loadConfig(fs); err != nil {
		return err
	}
	if v := os.Getenv("TRENT_ROOT_SECRET_ACCESS_KEY"); v != "" && !fs.Changed("root-secret-access-key") {
		c.rootSecret = v
	}
	if v := os.Getenv("TRENT_REGION"); v != "" && !fs.Changed("region") {
		c.regions = splitList(v)
	}
	if v := os.Getenv("TRENT_ENDPOINTS"); v != "" && !fs.Changed("endpoint") {
		c.endpoints = strings.Split(v, ";")
	}
	if v := os.Getenv("TRENT_HSMS"); v != "" && !fs.Changed("hsm") {
		c.hsms = strings.Split(v, ";")
	}
	return settleNumeric(fs)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func serve(ctx context.Context, c serveConfig) (err error) {
	p, err := c.check()
	if err != nil {
		return err
	}
	log := p.logger(os.Stderr)
	dataDir, sealSpec, specs := p.dataDir, p.sealSpec, p.endpoints
	scheme := "http"
	var tlsConfig *tls.Config
	// The certificate, key and client CA are reloaded when they change
	// (tlsFiles.Run, below), so a renewal needs no restart.
	tlsFiles, err := c.ops.tls(c.tlsCert, c.tlsKey, log)
	if err != nil {
		return err
	}
	if tlsFiles != nil {
		tlsConfig = tlsFiles.Config()
		scheme = "https"
	}

	// Bind every listener before anything is written: a port in use fails
	// the start with nothing left behind. The listeners open before the
	// root key is unsealed, so that a sealed node answers that it is sealed
	// (gate) instead of refusing connections. listen opens a listener,
	// wrapped in TLS when configured: requests then carry
	// aws:SecureTransport true.
	listen := func(addr string) (net.Listener, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil || tlsConfig == nil {
			return l, err
		}
		return tls.NewListener(l, tlsConfig), nil
	}
	ln, err := listen(c.listen)
	if err != nil {
		return err
	}
	listeners := []net.Listener{ln}
	defer func() {
		// The servers close them too once they serve; closing twice is harmless.
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, e := range specs {
		l, err := listen(e.listen)
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", e.ID, err)
		}
		listeners = append(listeners, l)
	}
	var ml net.Listener
	if c.metricsListen != "" {
		if ml, err = net.Listen("tcp", c.metricsListen); err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer ml.Close()
	}

	undoDataDir, err := makeDataDir(dataDir)
	if err != nil {
		return err
	}
	// A start that fails before the store has its first account removes the
	// data directory it made, so that the next try is a first start again.
	bootstrapped := false
	defer func() {
		if err != nil && !bootstrapped {
			undoDataDir()
		}
	}()
	// A passphrase from standard input, a file or the environment is read
	// now; one from trent unseal comes later through the admin socket.
	var wrapper seal.Wrapper
	if !sealSpec.fromUnseal() {
		var pass []byte
		if sealSpec.kind == seal.Passphrase {
			if pass, err = sealSpec.passphrase(newSecrets(os.Stdin), nil); err != nil {
				return err
			}
		}
		wrapper, err = sealSpec.wrapper(ctx, pass)
		clear(pass)
		if err != nil {
			return err
		}
		defer wrapper.Close()
	}
	if sealSpec.kind == seal.File {
		log.Warn("the file seal is for development: the key that wraps the root key is the file " + sealSpec.path +
			"; whoever reads it and the store can decrypt every key. Use --seal passphrase, pkcs11 or kms in production")
	}
	st, err := c.store.open(ctx, dataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	// Traces, when an OTLP collector is named: the store is wrapped so that
	// its writes are spans of the requests that make them.
	var tracer *trace.Tracer
	if c.extra.otlpEndpoint != "" {
		var shutdown func(context.Context) error
		tracer, shutdown, err = trace.Setup(ctx, trace.OTLP{Endpoint: c.extra.otlpEndpoint, SampleRatio: c.extra.traceSampleRatio, Version: buildVersion(), Node: p.nodeID(ln.Addr())})
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := shutdown(sctx); err != nil {
				log.Warn("traces: last export", "err", err)
			}
		}()
		st = trace.Store(st)
	}
	if _, err := st.Get(ctx, backup.IncompleteKey); err == nil {
		return errors.New("a restore into this store did not finish: run trent restore --replace again")
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Records of an older schema are upgraded before the version is raised
	// and before anything serves (kms: the key index).
	upgrade := func(ctx context.Context, from int) error { return kms.Upgrade(ctx, st, from) }
	if err := store.CheckSchema(ctx, st, upgrade); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP rotates the audit log once it is open; caught from here on so
	// that one sent earlier (while sealed) does not end the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if tlsFiles != nil {
		go tlsFiles.Run(ctx) // ends with ctx; it never fails otherwise
	}

	// Health probes answer from the start, sealed or not (ops.go).
	readiness := health.NewReadiness(st)
	var gates []*gate
	var servers []*http.Server
	for i := range listeners {
		g := &gate{}
		gates = append(gates, g)
		var h http.Handler = g
		if i == 0 && c.ops.healthOnListen {
			h = readiness.Routes(g)
		}
		servers = append(servers, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute})
	}
	errc := make(chan error, 3+len(servers))
	for i := range servers {
		go func() {
			if err := servers[i].Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	defer func() {
		for _, h := range servers {
			h.Close()
		}
	}()
	endpoint := scheme + "://" + ln.Addr().String()

	// Metrics and readiness answer from the start, sealed or not.
	reg := metrics.New()
	reg.AddGauge(metrics.Gauge{Name: "trent_ready", Help: "1 once the node is unsealed and serves, 0 while it is sealed, starting or stale.", Value: func() float64 {
		if readiness.Ready() {
			return 1
		}
		return 0
	}})
	if ml != nil {
		mux := http.NewServeMux()
		// /healthz, /readyz (and /ready) for load balancers and orchestrators.
		readiness.Register(mux)
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			if _, err := reg.WriteTo(w); err != nil {
				log.Debug("metrics: write", "err", err)
			}
		})
		// Profiles show where the server spends its time; only with
		// TRENT_DEBUG_PPROF=1, since goroutine dumps reveal internals.
		if os.Getenv("TRENT_DEBUG_PPROF") == "1" {
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		}
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := ms.Serve(ml); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", "err", err)
			}
		}()
		defer ms.Close()
		fmt.Fprintf(p.out, "Metrics at http://%s/metrics\n", ml.Addr())
	}

	boot := iam.Bootstrap{AccountID: c.accountID, AccessKeyID: c.rootKeyID, SecretAccessKey: c.rootSecret,
		AccountName: c.extra.accountName, AccountEmail: c.extra.accountEmail}
	adminPath := c.adminSocket
	if adminPath == "" {
		adminPath = filepath.Join(dataDir, "admin.sock")
	}
	adminLn, err := listenAdmin(adminPath)
	if err != nil {
		return err
	}
	adm := &adminSocket{path: adminPath, kind: sealSpec.kind, busy: make(chan struct{}, 1), st: st, log: log}
	adm.sealed.Store(true)
	status, err := seal.ReadStatus(ctx, st)
	if err != nil {
		return err
	}
	adm.initialized.Store(status.Initialized)
	var u unlocked
	if wrapper != nil {
		adm.serve(adminLn)
		defer adm.close()
		if u, err = unlock(ctx, st, wrapper, boot, log); err != nil {
			return err
		}
		// The seal's secrets (PIN, passphrase) and module are not needed
		// once the root key is unwrapped.
		wrapper.Close()
	} else {
		done := make(chan unlocked, 1)
		adm.unseal = func(rctx context.Context, pass []byte) error {
			w, err := sealSpec.wrapper(rctx, pass)
			if err != nil {
				return err
			}
			defer w.Close()
			got, err := unlock(rctx, st, w, boot, log)
			if err != nil {
				return err
			}
			adm.initialized.Store(true)
			adm.sealed.Store(false)
			done <- got
			return nil
		}
		adm.serve(adminLn)
		defer adm.close()
		fmt.Fprintf(p.out, "Trent is sealed at %s; unseal it with: trent unseal --admin-socket %s\n", endpoint, adminPath)
		select {
		case u = <-done:
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		}
	}
	bootstrapped = true
	sealer, ids := u.sealer, u.ids
	startRootkey(ctx, adm, st, sealer, sealSpec, log)
	credFile := filepath.Join(dataDir, "credentials")
	if u.boot.CreatedKey {
		if err := writeCredentials(credFile, u.boot.AccessKeyID, u.boot.SecretAccessKey, c.regions[0]); err != nil {
			return err
		}
	}
	clusters, closeHSMs, err := openHSMs(c.hsms)
	if err != nil {
		return err
	}
	defer closeHSMs()
	k, err := kms.New(ctx, st, sealer, kms.Options{Log: log, Principals: ids, Organization: ids, Clusters: clusters, Roles: slrMaker{ids}, Regions: c.regions,
		MaxKeysPerRegion: c.maxKeys, MaxAliasesPerKey: c.maxAliases, MaxCustomKeyStores: c.maxKeyStores,
		KeyCache: c.extra.keyCache, MaterialCache: c.extra.materialCache})
	if err != nil {
		return err
	}
	ids.SetRoleUsage(kmsRoleUsage(k))
	auditPath := c.auditLog
	if auditPath == "" {
		auditPath = filepath.Join(dataDir, "audit.jsonl")
	}
	nodeID := p.nodeID(ln.Addr())
	auditLog, err := audit.Open(auditPath, audit.Options{Log: log, Node: nodeID, MaxBytes: p.auditMaxBytes})
	if err != nil {
		return err
	}
	defer auditLog.Close()
	// GetKeyLastUsage answers from the store, where every node's uses meet.
	usages, err := usage.New(ctx, st, auditLog, usage.Options{Interval: c.extra.usageFlush, Node: nodeID, Log: log})
	if err != nil {
		return err
	}
	k.SetUsageSource(usages)
	reg.AddGauge(metrics.Gauge{Name: "trent_keys", Help: "KMS keys in this node's view, loaded or not.", Value: func() float64 { return float64(k.KeyCount()) }})
	reg.AddGauge(metrics.Gauge{Name: "trent_audit_events_waiting", Help: "Audit events recorded but not yet written.", Value: func() float64 {
		st := auditLog.Stats()
		return float64(st.Recorded - st.Written)
	}})
	reg.AddGauge(metrics.Gauge{Name: "trent_audit_queue_waits_total", Help: "Times a request waited for room in the audit queue.", Value: func() float64 { return float64(auditLog.Stats().Waits) }})
	srv, err := server.New(k, ids, server.Options{Regions: c.regions, Log: log, Audit: auditLog, Metrics: reg, Tracer: tracer, Quota: c.ops.limiter})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { errc <- ids.Run(runCtx) }()
	go func() { errc <- k.Run(runCtx) }()
	// The fence refuses requests while the view may be stale (ops.go); it
	// confirms the views once their watches run, before the gates open.
	fence := startFence(runCtx, st, ids, k, c.ops, log, reg)
	go fence.Run(runCtx) // ends with runCtx; it never fails otherwise
	for i, e := range specs {
		gates[i+1].open(health.Guard(fence, srv.Endpoint(e.Endpoint)))
		fmt.Fprintf(p.out, "VPC endpoint %s (%s) at %s://%s\n", e.ID, e.VPC, scheme, listeners[i+1].Addr())
	}
	gates[0].open(health.Guard(fence, srv))
	adm.sealed.Store(false)
	readiness.Serve(health.Serving{Fence: fence, KeyStores: keyStoreStates(k)})

	usageDone := make(chan struct{})
	go func() {
		// Its last flush, when runCtx ends, comes before the store closes.
		usages.Run(runCtx)
		close(usageDone)
	}()
	// SIGHUP rotates the audit log: after logrotate moved it, or to start a
	// new file now.
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-hup:
				if err := auditLog.Rotate(); err != nil {
					log.Error("audit log: rotate on SIGHUP", "err", err)
				} else {
					log.Info("audit log rotated on SIGHUP")
				}
			}
		}
	}()
	auditDone := make(chan error, 1)
	go func() {
		// A failed fsync of the audit log is fatal: events could be lost.
		err := auditLog.Run(runCtx)
		auditDone <- err
		if err != nil && runCtx.Err() == nil {
			errc <- fmt.Errorf("audit log: %w", err)
		}
	}()
	printBanner(p.out, endpoint, c.regions, u.boot, credFile)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errc:
		log.Error("stopped", "err", runErr)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	for _, h := range servers {
		if err := h.Shutdown(sctx); err != nil {
			log.Error("shutdown", "err", err)
		}
	}
	cancel()
	<-auditDone
	<-usageDone
	if err := auditLog.Close(); err != nil {
		log.Error("audit log", "err", err)
	}
	return runErr
}

func printBanner(w io.Writer, endpoint string, regions []string, boot iam.Bootstrapped, credFile string) {
	fmt.Fprintf(w, "Trent is serving AWS KMS at %s (Regions: %s)\n", endpoint, strings.Join(regions, ", "))
	fmt.Fprintf(w, "Account %s; its root access key is in %s\n", boot.Account.ID, credFile)
	fmt.Fprintf(w, "Point the AWS CLI at it:\n")
	fmt.Fprintf(w, "  export AWS_SHARED_CREDENTIALS_FILE=%s AWS_DEFAULT_REGION=%s\n", credFile, regions[0])
	fmt.Fprintf(w, "  aws --endpoint-url %s kms create-key --description hello\n", endpoint)
}

// writeCredentials writes an AWS shared-credentials file readable only by its
// owner, durably, replacing any previous one.
func writeCredentials(path, keyID, secret, region string) error {
	body := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\nregion = %s\n", keyID, secret, region)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return fmt.Errorf("credentials file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("credentials file: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (m slrMaker) EnsureMultiRegionKeyRole(ctx context.Context, id *authz.Identity, r authz.Request) error {
	return m.d.EnsureServiceLinkedRole(ctx, iam.Call{Identity: id, Request: r}, iam.MultiRegionKeysService)
}

// kmsRoleUsage tells iam where KMS's service-linked roles are in use; iam
// takes one usage function, so it answers for both: custom key stores
// (cksRoleUsage) and multi-Region keys, naming the key ARNs by Region.
func kmsRoleUsage(k *kms.Service) iam.UsageFunc {
	cks := cksRoleUsage(k)
	return func(ctx context.Context, account, service string) ([]iam.RoleUsage, error) {
		if service != iam.MultiRegionKeysService {
			return cks(ctx, account, service)
		}
		var out []iam.RoleUsage
		for region, arns := range k.MultiRegionKeyUsage(account) {
			out = append(out, iam.RoleUsage{Region: region, Resources: arns})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Region < out[j].Region })
		return out, nil
	}
}
