package kms

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

func wantLimit(t *testing.T, err error, msg string) {
	t.Helper()
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != "LimitExceededException" || we.Message != msg {
		t.Fatalf("got %v, want LimitExceededException %q", err, msg)
	}
}

// The keys quota counts the keys of an account and Region in any state,
// replicas in their own Region.
func TestKeysQuota(t *testing.T) {
	e := newEnvWith(t, Options{MaxKeysPerRegion: 3})
	ctx := context.Background()
	k := e.createKey(t)
	e.createKey(t)
	mrk, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{MultiRegion: wire.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.ScheduleKeyDeletion(ctx, e.caller, &kmsapi.ScheduleKeyDeletionRequest{KeyId: k.KeyId, PendingWindowInDays: wire.Ptr(int32(7))}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{})
	wantLimit(t, err, "Key quota for this account in this region is 3 but the current usage is 3.")

	// Another Region has its own quota, which a replica counts against.
	eu := e.caller
	eu.Region = "eu-west-1"
	for range 2 {
		if _, err := e.s.CreateKey(ctx, eu, &kmsapi.CreateKeyRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.ReplicateKey(ctx, e.caller, &kmsapi.ReplicateKeyRequest{KeyId: mrk.KeyMetadata.KeyId, ReplicaRegion: wire.Ptr("eu-west-1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.CreateKey(ctx, eu, &kmsapi.CreateKeyRequest{})
	wantLimit(t, err, "Key quota for this account in this region is 3 but the current usage is 3.")

	// A deleted key frees its place.
	e.clock.Add(7 * day)
	if err := e.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{}); err != nil {
		t.Fatalf("CreateKey after a deletion: %v", err)
	}
}

// Concurrent creations on two nodes of one store never exceed the quota.
func TestKeysQuotaUnderConcurrency(t *testing.T) {
	const max = 5
	e := newEnvWith(t, Options{MaxKeysPerRegion: max})
	ctx, cancel := context.WithCancel(context.Background())
	other, err := New(ctx, e.s.st, e.s.sealer, Options{Now: e.clock.Now, SweepInterval: time.Hour, MaxKeysPerRegion: max})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { other.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	var wg sync.WaitGroup
	var mu sync.Mutex
	created, limited := 0, 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := e.s
			if i%2 == 1 {
				s = other
			}
			_, err := s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{})
			mu.Lock()
			defer mu.Unlock()
			switch code(err) {
			case "":
				if err != nil {
					t.Error(err)
				}
				created++
			case "LimitExceededException":
				limited++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if created != max || limited != 16-max {
		t.Fatalf("%d created, %d refused; want %d and %d", created, limited, max, 16-max)
	}
	if n := e.s.view.keyCount(e.caller.Account, e.caller.Region); n != max {
		t.Fatalf("%d keys in the Region, quota %d", n, max)
	}
}

// The aliases quota is per key, for CreateAlias and for UpdateAlias onto
// the key, and holds under concurrent creations.
func TestAliasesPerKeyQuota(t *testing.T) {
	const max = 3
	e := newEnvWith(t, Options{MaxAliasesPerKey: max})
	ctx := context.Background()
	full, other := e.createKey(t), e.createKey(t)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr("alias/a" + string(rune('0'+i))), TargetKeyId: full.KeyId})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	created := 0
	for err := range errs {
		switch {
		case err == nil:
			created++
		case code(err) != "LimitExceededException":
			t.Fatal(err)
		}
	}
	if created != max {
		t.Fatalf("%d aliases created on one key, quota %d", created, max)
	}
	_, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr("alias/one-more"), TargetKeyId: full.KeyId})
	wantLimit(t, err, "Aliases per key quota for this account in this region is 3, current usage is 3.")
	if _, err := e.s.CreateAlias(ctx, e.caller, &kmsapi.CreateAliasRequest{AliasName: wire.Ptr("alias/elsewhere"), TargetKeyId: other.KeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: wire.Ptr("alias/elsewhere"), TargetKeyId: full.KeyId})
	wantLimit(t, err, "Aliases per key quota for this account in this region is 3, current usage is 3.")
	// Pointing an alias at the key it already names adds nothing.
	aliases, _ := e.s.ListAliases(ctx, e.caller, &kmsapi.ListAliasesRequest{KeyId: full.KeyId})
	if _, err := e.s.UpdateAlias(ctx, e.caller, &kmsapi.UpdateAliasRequest{AliasName: aliases.Aliases[0].AliasName, TargetKeyId: full.KeyId}); err != nil {
		t.Fatalf("UpdateAlias to the same key: %v", err)
	}
}

func TestQuotaOptions(t *testing.T) {
	e := newEnv(t)
	if e.s.maxKeys != 100000 || e.s.maxAliases != 50 || e.s.maxKeyStores != 10 {
		t.Fatalf("default quotas %d, %d, %d; want AWS's 100000, 50, 10", e.s.maxKeys, e.s.maxAliases, e.s.maxKeyStores)
	}
	if _, err := New(context.Background(), e.s.st, e.s.sealer, Options{MaxAliasesPerKey: -1}); err == nil {
		t.Fatal("a negative quota was accepted")
	}
}

// Many concurrent creations on one node all commit: they are counted and
// committed together instead of conflicting on the quota record one round
// at a time (which ran out of retries at concurrency 16).
func TestConcurrentCreationsAllCommit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 48
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.s.view.keyCount(e.caller.Account, e.caller.Region); got != n {
		t.Fatalf("%d keys, want %d", got, n)
	}
}

// A batch larger than the room left admits what fits, in order, and refuses
// the rest with the quota's error.
func TestConcurrentCreationsStopAtTheQuota(t *testing.T) {
	const max = 10
	e := newEnvWith(t, Options{MaxKeysPerRegion: max})
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, limited := 0, 0
	for range 40 {
		wg.Go(func() {
			_, err := e.s.CreateKey(ctx, e.caller, &kmsapi.CreateKeyRequest{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case code(err) == "LimitExceededException":
				limited++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created != max || limited != 40-max {
		t.Fatalf("%d created, %d refused; want %d and %d", created, limited, max, 40-max)
	}
}
