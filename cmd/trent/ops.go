package main

// The flags and wiring of running Trent in production (issue 12): health
// probes, the fence that fails closed on a stale view, request quotas and
// TLS certificate reloading. serve.go calls into this file at a few marked
// places, so that its own flow stays readable.

import (
	"context"
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
	"github.com/trentkms/trent/internal/store"
)

type opsFlags struct {
	staleBound     time.Duration
	healthOnListen bool
}

func (o *opsFlags) register(f *pflag.FlagSet) {
	f.DurationVar(&o.staleBound, "stale-bound", health.DefaultBound,
		"with etcd: refuse requests (503, retryable) once the view has not been confirmed current for this long [TRENT_STALE_BOUND]")
	f.BoolVar(&o.healthOnListen, "health-on-listen", false,
		"also answer GET /healthz and /readyz on the API listener (always on --metrics-listen) [TRENT_HEALTH_ON_LISTEN]")
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
	return o.check()
}

func (o *opsFlags) check() error {
	// Below a second a busy etcd (an fsync, an election) would fence
	// healthy nodes.
	if o.staleBound < time.Second {
		return fmt.Errorf("--stale-bound %s: at least 1s", o.staleBound)
	}
	return nil
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
