package customkeystore

import (
	"context"
	"fmt"
	"testing"

	"github.com/trentkms/trent/internal/keystore/xks"
)

// TestXKSErrorTable holds the mappings of proxy failures to the table of
// package xks's doc (the XKS specification's KMS considerations): the
// exception of Create/UpdateCustomKeyStore, of CreateKey and of the
// cryptographic operations, and ConnectCustomKeyStore's ConnectionErrorCode.
func TestXKSErrorTable(t *testing.T) {
	tests := []struct {
		err                    error
		store, createKey, conn string
	}{
		{xks.ErrValidation, "XksProxyInvalidResponseException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_INVALID_RESPONSE"},
		{xks.ErrInvalidState, "XksProxyInvalidResponseException", "XksKeyInvalidConfigurationException", "INTERNAL_ERROR"},
		{xks.ErrInvalidKeyUsage, "XksProxyInvalidResponseException", "XksKeyInvalidConfigurationException", "INTERNAL_ERROR"},
		{xks.ErrAuthenticationFailed, "XksProxyIncorrectAuthenticationCredentialException", "CustomKeyStoreInvalidStateException", "INVALID_CREDENTIALS"},
		{xks.ErrAccessDenied, "XksProxyInvalidResponseException", "KMSInvalidStateException", "XKS_PROXY_ACCESS_DENIED"},
		{xks.ErrKeyNotFound, "XksProxyInvalidResponseException", "XksKeyNotFoundException", "INTERNAL_ERROR"},
		{xks.ErrInvalidURIPath, "XksProxyInvalidConfigurationException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_INVALID_CONFIGURATION"},
		{xks.ErrUnsupportedOperation, "XksProxyInvalidResponseException", "XksKeyInvalidConfigurationException", "INTERNAL_ERROR"},
		{xks.ErrDependencyTimeout, "XksProxyUriUnreachableException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_TIMED_OUT"},
		{xks.ErrThrottling, "XksProxyUriUnreachableException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_NOT_REACHABLE"},
		{xks.ErrInternal, "XksProxyInvalidResponseException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_INVALID_RESPONSE"},
		{xks.ErrUnreachable, "XksProxyUriUnreachableException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_NOT_REACHABLE"},
		{xks.ErrTLS, "XksProxyUriUnreachableException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_INVALID_TLS_CONFIGURATION"},
		{xks.ErrTimeout, "XksProxyUriUnreachableException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_TIMED_OUT"},
		{xks.ErrInvalidResponse, "XksProxyInvalidResponseException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_INVALID_RESPONSE"},
		{errXKSNotAvailable, "XksProxyInvalidResponseException", "CustomKeyStoreInvalidStateException", "XKS_PROXY_NOT_REACHABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			err := fmt.Errorf("call: %w", tt.err)
			if got := code(xksStoreError(err)); got != tt.store {
				t.Errorf("store operation: %s, want %s", got, tt.store)
			}
			if got := code(xksCreateKeyError(err)); got != tt.createKey {
				t.Errorf("CreateKey: %s, want %s", got, tt.createKey)
			}
			if got := code(CryptoError(err)); got != "KMSInvalidStateException" {
				t.Errorf("cryptographic operation: %s", got)
			}
			if got := xksConnectionErrorCode(err); got != tt.conn {
				t.Errorf("ConnectionErrorCode %s, want %s", got, tt.conn)
			}
		})
	}
	// A caller that gave up is told so, not that the proxy failed.
	for _, f := range []func(error) error{xksStoreError, xksCreateKeyError, CryptoError} {
		if err := f(context.Canceled); err != context.Canceled {
			t.Errorf("a cancelled call maps to %v", err)
		}
	}
}
