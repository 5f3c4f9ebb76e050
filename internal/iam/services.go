package iam

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/trentkms/trent/internal/store"
)

// Registered services are principals of their own, as AWS services are: a
// key policy allows one with {"Service": "<name>"}. An operator registers a
// service and hands it an access key; with it the service calls for itself
// (naming what it acts for in aws:SourceArn and aws:SourceAccount), or
// forwards a caller's own signed request and acts for that caller with
// kms:ViaService (docs/SERVICES.md).

var (
	// ErrServiceExists is returned by RegisterService for a name already taken.
	ErrServiceExists = errors.New("iam: service already registered")
	// ErrServiceName is returned by RegisterService for a name that is not a
	// lower-case DNS name.
	ErrServiceName = errors.New("not a service name (a lower-case DNS name such as backup.example.internal)")
)

const servicesPrefix = "iam/services/"

type serviceRecord struct {
	Name        string `json:"name"`
	AccessKeyID string `json:"accessKeyId"`
}

// validServiceName: a DNS-like name, as AWS service principals are.
func validServiceName(n string) bool {
	if len(n) < 3 || len(n) > 253 || !strings.Contains(n, ".") {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// RegisterService registers a service principal and returns its access key;
// the secret is never readable again.
func (d *Directory) RegisterService(ctx context.Context, name string) (accessKeyID, secret string, err error) {
	if !validServiceName(name) {
		return "", "", fmt.Errorf("%q is %w", name, ErrServiceName)
	}
	id, secret, err := d.newAccessKey("AKIA")
	if err != nil {
		return "", "", err
	}
	kv, err := d.accessKeyKV("", "", "", id, secret)
	if err != nil {
		return "", "", err
	}
	var rec accessKeyRecord
	if err := jsonUnmarshal(kv.Value, &rec); err != nil {
		return "", "", err
	}
	rec.Service = name
	kv.Value = mustJSON(rec)
	sk := servicesPrefix + name
	err = d.commit(ctx, store.Txn{
		Compares: []store.Compare{{Key: sk}, {Key: kv.Key}},
		Puts:     []store.KV{kv, {Key: sk, Value: mustJSON(serviceRecord{Name: name, AccessKeyID: id})}},
	})
	if errors.Is(err, store.ErrConflict) {
		return "", "", fmt.Errorf("%w: %s", ErrServiceExists, name)
	}
	return id, secret, err
}

// Services lists the registered service principals.
func (d *Directory) Services(ctx context.Context) ([]string, error) {
	kvs, _, err := d.st.Range(ctx, servicesPrefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range kvs {
		out = append(out, strings.TrimPrefix(kv.Key, servicesPrefix))
	}
	sort.Strings(out)
	return out, nil
}
