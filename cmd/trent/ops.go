package main

// The flags and wiring of running Trent in production (issue 12): health
// probes, the fence that fails closed on a stale view, request quotas and
// TLS certificate reloading. serve.go calls into this file at a few marked
// places, so that its own flow stays readable.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/trentkms/trent/internal/health"
	"github.com/trentkms/trent/internal/iam"
	"github.com/trentkms/trent/internal/kms"
	"github.com/trentkms/trent/internal/metrics"
	"github.com/trentkms/trent/internal/quota"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/tlsreload"
)

type opsFlags struct {
	staleBound     time.Duration
	healthOnListen bool
	quotaScale     float64
	quotas         []string
	tlsClientCA    string
	// limiter is made from quotaScale and quotas by fromEnv: nil when
	// quotas are off.
	limiter *quota.Limiter
}

func (o *opsFlags) register(f *pflag.FlagSet) {
	f.DurationVar(&o.staleBound, "stale-bound", health.DefaultBound,
		"with etcd: refuse requests (503, retryable) once the view has not been confirmed current for this long [TRENT_STALE_BOUND]")
	f.BoolVar(&o.healthOnListen, "health-on-listen", false,
		"also answer GET /healthz and /readyz on the API listener (always on --metrics-listen) [TRENT_HEALTH_ON_LISTEN]")
	f.Float64Var(&o.quotaScale, "quota-scale", 1,
		"multiply every request quota by this: this node's share of the deployment's (1/N for N nodes); 0 turns quotas off [TRENT_QUOTA_SCALE]")
	f.StringArrayVar(&o.quotas, "quota", nil,
		"override a request quota, NAME=requests-per-second before --quota-scale (symmetric, rsa, ecc, sm, ml-dsa, custom-key-store, GenerateDataKeyPair:SPEC or an operation such as CreateKey); repeatable [TRENT_QUOTAS, comma-separated]")
	f.StringVar(&o.tlsClientCA, "tls-client-ca", os.Getenv("TRENT_TLS_CLIENT_CA"),
		"PEM bundle of the CAs whose client certificates the HTTPS listeners require (mutual TLS); reloaded when it changes; needs --tls-cert [TRENT_TLS_CLIENT_CA]")
}

// fromEnv reads the environment variables of the flags not given on the
// command line; an unparsable value is an error, not a silent default.
func (o *opsFlags) fromEnv(f *pflag.FlagSet) error {
	if v := os.Getenv("TRENT_STALE_BOUND"); v != "" && !f.Changed("stale-bound") {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("TRENT_STALE_BOUND: %w", err)
		}
		o.staleBound = d
	}
	if v := os.Getenv("TRENT_HEALTH_ON_LISTEN"); v != "" && !f.Changed("health-on-listen") {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("TRENT_HEALTH_ON_LISTEN: %w", err)
		}
		o.healthOnListen = b
	}
	if v := os.Getenv("TRENT_QUOTA_SCALE"); v != "" && !f.Changed("quota-scale") {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("TRENT_QUOTA_SCALE: %w", err)
		}
		o.quotaScale = x
	}
	if v := os.Getenv("TRENT_QUOTAS"); v != "" && !f.Changed("quota") {
		o.quotas = splitList(v)
	}
	return o.check()
}

func (o *opsFlags) check() error {
	// Below a second a busy etcd (an fsync, an election) would fence
	// healthy nodes.
	if o.staleBound < time.Second {
		return fmt.Errorf("--stale-bound %s: at least 1s", o.staleBound)
	}
	rates, err := quota.ParseRates(o.quotas)
	if err != nil {
		return fmt.Errorf("--quota: %w", err)
	}
	switch {
	case o.quotaScale < 0:
		return fmt.Errorf("--quota-scale %g: want 0 (off) or more", o.quotaScale)
	case o.quotaScale == 0:
		if len(rates) > 0 {
			return errors.New("--quota is given but --quota-scale 0 turns quotas off")
		}
		o.limiter = nil
	default:
		if o.limiter, err = quota.New(quota.Options{Scale: o.quotaScale, Rates: rates}); err != nil {
			return fmt.Errorf("--quota-scale: %w", err)
		}
	}
	return nil
}

// tls loads the TLS files, if any, for reloading (internal/tlsreload).
func (o *opsFlags) tls(certFile, keyFile string, log *slog.Logger) (*tlsreload.Reloader, error) {
	if certFile == "" {
		if o.tlsClientCA != "" {
			return nil, errors.New("--tls-client-ca needs --tls-cert and --tls-key")
		}
		return nil, nil
	}
	r, err := tlsreload.New(certFile, keyFile, tlsreload.Options{ClientCA: o.tlsClientCA, Log: log})
	if err != nil {
		return nil, fmt.Errorf("TLS: %w", err)
	}
	return r, nil
}

// startFence makes the fence over the views of ids and k and confirms them
// once, so that a node does not refuse its first requests; the caller runs
// it (Run) once it serves.
func startFence(ctx context.Context, st store.Store, ids *iam.Directory, k *kms.Service, o opsFlags, log *slog.Logger, reg *metrics.Registry) *health.Fence {
	f := health.NewFence(st, []*store.Follower{ids.Follower(), k.Follower()}, health.FenceOptions{Bound: o.staleBound, Log: log})
	if err := f.Confirm(ctx); err != nil {
		log.Error("could not confirm that this node's view of the store is current; it refuses requests until it can", "err", err)
	}
	reg.AddGauge(metrics.Gauge{Name: "trent_view_current", Help: "1 while this node's view of the store is confirmed current within --stale-bound (always with bolt), else 0: the node refuses requests.", Value: func() float64 {
		if f.Current() {
			return 1
		}
		return 0
	}})
	reg.AddGauge(metrics.Gauge{Name: "trent_view_confirmed_age_seconds", Help: "Seconds since the view was last confirmed current (0 with bolt).", Value: func() float64 {
		return f.Status().Age.Seconds()
	}})
	reg.AddGauge(metrics.Gauge{Name: "trent_stale_refused_total", Help: "Requests refused because the view could not be confirmed current.", Value: func() float64 {
		return float64(f.Status().Refused)
	}})
	return f
}

// keyStoreStates reports k's custom key stores to readiness.
func keyStoreStates(k *kms.Service) func() []health.KeyStore {
	return func() []health.KeyStore {
		var out []health.KeyStore
		for _, s := range k.KeyStoreStates() {
			out = append(out, health.KeyStore{ID: s.ID, Account: s.Account, Region: s.Region, Type: s.Type, State: s.State, Connected: s.Connected})
		}
		return out
	}
}
