package kms

// External key stores (CustomKeyStoreType EXTERNAL_KEY_STORE): key material
// that lives behind a vendor's XKS proxy (package keystore/xks). The store
// record holds the proxy's endpoint, path and credential (the secret sealed
// with the root key); a connected store has an xks.Client in its cksConn.
// A KMS key in such a store has no material in the view: it names its
// external key (keyRecord.XksKeyID) and every encryption and decryption is a
// call to the proxy, with network I/O on the request path as in AWS.
//
// Not done: AWS's double encryption (an inner layer under a KMS-held key
// before the proxy's layer, KMS Developer Guide keystore-external.md "Double
// encryption"); here the proxy's AES-GCM is the only layer.

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/trentkms/trent/internal/keys"
	"github.com/trentkms/trent/internal/keystore/xks"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/kmsapi"
)

const (
	xksPublicEndpoint  = "PUBLIC_ENDPOINT"
	xksVPCEndpointSvc  = "VPC_ENDPOINT_SERVICE"
	xksStoreValidation = "for a custom key store of type EXTERNAL_KEY_STORE."
)

func xksSecretAAD(account, region, id string) []byte {
	return []byte("external key store secret|" + account + "|" + region + "|" + id)
}

// xksMessages are the texts of the XKS specification's table of failures
// ("Error codes", KMS considerations): one per failure, whatever exception
// carries it. The proxy's own errorMessage is logged, never relayed.
var xksMessages = []struct {
	err error
	msg string
}{
	{xks.ErrValidation, "AWS KMS cannot interpret the response from the external key store proxy. If you see this error repeatedly, report it to your external key store proxy administrator."},
	{xks.ErrInvalidState, "The external key associated with this KMS key in an external key store is not enabled in the external key manager. Enable the external key in the external key manager and retry the request."},
	{xks.ErrInvalidCiphertext, "The external key store proxy rejected the request because the specified ciphertext or encryption context is corrupted, missing, or otherwise invalid."},
	{xks.ErrInvalidKeyUsage, "The external key associated with this KMS key in an external key store does not support the requested operation. Enable the operation on the key in your external key manager, and try the request again."},
	{xks.ErrAuthenticationFailed, "The external key store proxy rejected the request because it could not authenticate AWS KMS. Verify the XKS proxy authentication credentials for your external key store and update if necessary."},
	{xks.ErrAccessDenied, "The external key store proxy denied access to the operation. Verify that the user and the external key are both authorized for this operation, and try the request again."},
	{xks.ErrKeyNotFound, "The external key associated with this KMS key in an external key store was not found in its external key manager. If the external key ID associated with this KMS key is incorrect, create a new KMS key with the correct external key ID."},
	{xks.ErrInvalidURIPath, "The external key store proxy rejected the request because of an invalid URI path. Verify the URI path for your external key store and update if necessary."},
	{xks.ErrUnsupportedOperation, "The external key store proxy rejected the request because it does not support the requested operation. If you see this error repeatedly, report it to your external key store proxy administrator."},
	{xks.ErrDependencyTimeout, "The external key store proxy did not respond to the request in the time allotted. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator."},
	{xks.ErrThrottling, "The external key store proxy rejected the request due to a very high request rate. Reduce the frequency of your calls using KMS keys in this external key store."},
	{xks.ErrInternal, "The external key store proxy rejected the request because it cannot communicate with the external key manager. Verify that the external key store proxy configuration is correct and that the external key manager is available."},
	{xks.ErrUnreachable, "AWS KMS cannot communicate with the external key store proxy. This might be a transient network issue. If you see this error repeatedly, verify that your external key store proxy is active and is connected to the network, and that its endpoint URI is correct in your external keystore."},
	{xks.ErrTLS, "AWS KMS cannot establish a TLS connection to the external key store proxy. Verify the TLS configuration, including its certificate."},
	{xks.ErrTimeout, "AWS KMS rejected the request because the external key store proxy did not respond in time. Retry the request. If you see this error repeatedly, report it to your external key store proxy administrator."},
	{xks.ErrInvalidResponse, "AWS KMS cannot interpret the response from the external key store proxy. If you see this error repeatedly, report it to your external key store proxy administrator."},
}

// xksMessage is the table's text for a proxy failure.
func xksMessage(err error) string {
	for _, m := range xksMessages {
		if errors.Is(err, m.err) {
			return m.msg
		}
	}
	return "AWS KMS cannot communicate with the external key store proxy."
}

// xksStoreError maps a failed GetHealthStatus of Create- or
// UpdateCustomKeyStore (package xks doc, first column).
func xksStoreError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := xksMessage(err)
	switch {
	case errors.Is(err, xks.ErrAuthenticationFailed):
		return kmsapi.NewXksProxyIncorrectAuthenticationCredentialException(msg)
	case errors.Is(err, xks.ErrInvalidURIPath):
		return kmsapi.NewXksProxyInvalidConfigurationException(msg)
	case errors.Is(err, xks.ErrDependencyTimeout), errors.Is(err, xks.ErrThrottling),
		errors.Is(err, xks.ErrUnreachable), errors.Is(err, xks.ErrTLS), errors.Is(err, xks.ErrTimeout):
		return kmsapi.NewXksProxyUriUnreachableException(msg)
	}
	// ErrValidation, ErrInternal, ErrInvalidState of a health check,
	// ErrInvalidResponse and anything unexpected: the proxy answered wrong.
	return kmsapi.NewXksProxyInvalidResponseException(msg)
}

// xksCreateKeyError maps a failed GetKeyMetadata of CreateKey (second
// column).
func xksCreateKeyError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := xksMessage(err)
	switch {
	case errors.Is(err, xks.ErrKeyNotFound):
		return kmsapi.NewXksKeyNotFoundException(msg)
	case errors.Is(err, xks.ErrInvalidState), errors.Is(err, xks.ErrInvalidKeyUsage),
		errors.Is(err, xks.ErrUnsupportedOperation):
		// The table's XksKeyInvalidResponseException (for
		// UnsupportedOperation) is not in the API model; the key's
		// configuration is the nearest exception that is.
		return kmsapi.NewXksKeyInvalidConfigurationException(msg)
	case errors.Is(err, xks.ErrAccessDenied):
		return kmsapi.NewKMSInvalidStateException(msg)
	}
	return kmsapi.NewCustomKeyStoreInvalidStateException(msg)
}

// xksCryptoError maps a failed Encrypt or Decrypt (third column): always
// KMSInvalidStateException.
func xksCryptoError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return kmsapi.NewKMSInvalidStateException(xksMessage(err))
}

// xksConnectionErrorCode is ConnectCustomKeyStore's ConnectionErrorCode for
// a failed health check (package xks doc).
func xksConnectionErrorCode(err error) string {
	switch {
	case errors.Is(err, errXKSNotAvailable), errors.Is(err, xks.ErrUnreachable), errors.Is(err, xks.ErrThrottling):
		return "XKS_PROXY_NOT_REACHABLE"
	case errors.Is(err, xks.ErrAuthenticationFailed):
		return "INVALID_CREDENTIALS"
	case errors.Is(err, xks.ErrAccessDenied):
		return "XKS_PROXY_ACCESS_DENIED"
	case errors.Is(err, xks.ErrInvalidURIPath):
		return "XKS_PROXY_INVALID_CONFIGURATION"
	case errors.Is(err, xks.ErrTLS):
		return "XKS_PROXY_INVALID_TLS_CONFIGURATION"
	case errors.Is(err, xks.ErrTimeout), errors.Is(err, xks.ErrDependencyTimeout):
		return "XKS_PROXY_TIMED_OUT"
	case errors.Is(err, xks.ErrInvalidResponse), errors.Is(err, xks.ErrValidation), errors.Is(err, xks.ErrInternal):
		return "XKS_PROXY_INVALID_RESPONSE"
	}
	return "INTERNAL_ERROR"
}

// errXKSNotAvailable is a health status whose key managers are all
// UNAVAILABLE.
var errXKSNotAvailable = errors.New("kms: no external key manager of the proxy is available")

// xksRequestID is the kmsRequestId of a proxy call: the request id the
// caller's response and audit event carry, so the proxy's logs match Trent's;
// a random one for calls with no request behind them.
func (s *Service) xksRequestID(c ...Caller) string {
	if len(c) > 0 && c[0].RequestID != "" {
		return c[0].RequestID
	}
	id, err := s.newKeyID()
	if err != nil {
		return "00000000-0000-4000-8000-000000000000"
	}
	return id
}

// xksClient makes a client from a store record, opening the sealed secret.
func (s *Service) xksClient(r *keyStoreRecord) (*xks.Client, error) {
	secret, err := s.sealer.Open(r.XksSecret, xksSecretAAD(r.Account, r.Region, r.ID))
	if err != nil {
		return nil, errors.New("custom key store " + r.ID + ": the proxy credential does not open: " + err.Error())
	}
	defer clear(secret)
	return newXKSClient(r.XksEndpoint, r.XksPath, r.XksAccessKeyID, string(secret), r.Region)
}

func newXKSClient(endpoint, path, accessKeyID, secret, region string) (*xks.Client, error) {
	return xks.New(xks.Config{Endpoint: endpoint, URIPath: path, Region: region,
		Credential: xks.Credential{AccessKeyID: accessKeyID, Secret: secret}})
}

// xksHealth checks a proxy end to end, as CreateCustomKeyStore,
// UpdateCustomKeyStore and ConnectCustomKeyStore do in AWS.
func (s *Service) xksHealth(ctx context.Context, cl *xks.Client, op string) error {
	h, err := cl.GetHealthStatus(ctx, xks.RequestMetadata{KMSOperation: op, KMSRequestID: s.xksRequestID()})
	if err != nil {
		return err
	}
	if !h.Available() {
		return errXKSNotAvailable
	}
	return nil
}

// xksConfig checks the XksProxy parameters of Create- and
// UpdateCustomKeyStore. Only public endpoints are supported: Trent has no
// VPC endpoint services.
func xksConfig(connectivity, vpcName, vpcOwner *string) error {
	if connectivity != nil && *connectivity == xksVPCEndpointSvc {
		return kmsapi.NewUnsupportedOperationException("XksProxyConnectivity VPC_ENDPOINT_SERVICE is not supported by this server; use PUBLIC_ENDPOINT.")
	}
	if vpcName != nil || vpcOwner != nil {
		return wire.Validation("XksProxyVpcEndpointServiceName and XksProxyVpcEndpointServiceOwner are valid only with XksProxyConnectivity VPC_ENDPOINT_SERVICE.")
	}
	return nil
}

// xksURIInUse reports whether another external store of the account and
// Region has the same endpoint and path (XksProxyUriInUseException).
func (s *Service) xksURIInUse(account, region, endpoint, path, except string) bool {
	for _, r := range s.view.keyStoresOf(account, region) {
		if r.Type == storeTypeExternal && r.ID != except && strings.EqualFold(r.XksEndpoint, endpoint) && r.XksPath == path {
			return true
		}
	}
	return false
}

func xksURIInUse(endpoint, path string) error {
	return kmsapi.NewXksProxyUriInUseException("The URI " + endpoint + path + " is already associated with an external key store in this account and Region.")
}

// createXKSStore is CreateCustomKeyStore of an EXTERNAL_KEY_STORE. AWS
// creates no service-linked role for these stores.
func (s *Service) createXKSStore(ctx context.Context, c Caller, in *kmsapi.CreateCustomKeyStoreRequest) (*kmsapi.CreateCustomKeyStoreResponse, error) {
	switch {
	case in.CloudHsmClusterId != nil || in.TrustAnchorCertificate != nil || in.KeyStorePassword != nil:
		return nil, wire.Validation("CloudHsmClusterId, TrustAnchorCertificate and KeyStorePassword are not valid " + xksStoreValidation)
	case in.XksProxyConnectivity == nil:
		return nil, wire.Validation("XksProxyConnectivity is required " + xksStoreValidation)
	}
	if err := xksConfig(in.XksProxyConnectivity, in.XksProxyVpcEndpointServiceName, in.XksProxyVpcEndpointServiceOwner); err != nil {
		return nil, err
	}
	switch {
	case in.XksProxyUriEndpoint == nil:
		return nil, wire.Validation("XksProxyUriEndpoint is required " + xksStoreValidation)
	case in.XksProxyUriPath == nil:
		return nil, wire.Validation("XksProxyUriPath is required " + xksStoreValidation)
	case in.XksProxyAuthenticationCredential == nil:
		return nil, wire.Validation("XksProxyAuthenticationCredential is required " + xksStoreValidation)
	}
	name, endpoint, path := *in.CustomKeyStoreName, *in.XksProxyUriEndpoint, *in.XksProxyUriPath
	cred := in.XksProxyAuthenticationCredential
	if s.nameInUse(c.Account, c.Region, name, "") {
		return nil, kmsapi.NewCustomKeyStoreNameInUseException("Custom key store name " + name + " is already in use in this account and Region.")
	}
	if s.xksURIInUse(c.Account, c.Region, endpoint, path, "") {
		return nil, xksURIInUse(endpoint, path)
	}
	cl, err := newXKSClient(endpoint, path, wire.String(cred.AccessKeyId), wire.String(cred.RawSecretAccessKey), c.Region)
	if err != nil {
		// The model's patterns passed; the client is stricter (e.g. on
		// the path's version). Its error names no secret.
		return nil, kmsapi.NewXksProxyInvalidConfigurationException("The external key store proxy configuration is not valid: " + err.Error())
	}
	if err := s.xksHealth(ctx, cl, "CreateCustomKeyStore"); err != nil {
		s.log.Warn("kms: external key store proxy health check failed", "endpoint", endpoint, "path", path, "err", err)
		return nil, xksStoreError(err)
	}
	id, err := s.newKeyStoreID()
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal([]byte(*cred.RawSecretAccessKey), xksSecretAAD(c.Account, c.Region, id))
	if err != nil {
		return nil, err
	}
	rec := keyStoreRecord{ID: id, Name: name, Account: c.Account, Region: c.Region, Type: storeTypeExternal,
		Created: s.now().UTC(), State: connDisconnected, XksEndpoint: endpoint, XksPath: path,
		XksConnectivity: *in.XksProxyConnectivity, XksAccessKeyID: *cred.AccessKeyId, XksSecret: sealed}
	p := keyStorePath(c.Account, c.Region, id)
	if err := s.commitCounted(ctx, s.keyStoresQuota(c.Account, c.Region), store.Txn{Compares: []store.Compare{{Key: p}}, Puts: []store.KV{{Key: p, Value: marshal(rec)}}}); err != nil {
		return nil, err
	}
	return &kmsapi.CreateCustomKeyStoreResponse{CustomKeyStoreId: wire.Ptr(id)}, nil
}

// updateXKSStore is UpdateCustomKeyStore of an EXTERNAL_KEY_STORE: a new
// name in any state; proxy settings while disconnected, checked with the
// proxy before they are saved.
func (s *Service) updateXKSStore(ctx context.Context, c Caller, r *keyStoreRecord, in *kmsapi.UpdateCustomKeyStoreRequest) (*kmsapi.UpdateCustomKeyStoreResponse, error) {
	if in.KeyStorePassword != nil || in.CloudHsmClusterId != nil {
		return nil, wire.Validation("KeyStorePassword and CloudHsmClusterId are not valid " + xksStoreValidation)
	}
	if err := xksConfig(in.XksProxyConnectivity, in.XksProxyVpcEndpointServiceName, in.XksProxyVpcEndpointServiceOwner); err != nil {
		return nil, err
	}
	proxy := in.XksProxyUriEndpoint != nil || in.XksProxyUriPath != nil || in.XksProxyAuthenticationCredential != nil || in.XksProxyConnectivity != nil
	if proxy && r.State != connDisconnected {
		return nil, keyStoreNotDisconnected(r)
	}
	if in.NewCustomKeyStoreName != nil && s.nameInUse(c.Account, c.Region, *in.NewCustomKeyStoreName, r.ID) {
		return nil, kmsapi.NewCustomKeyStoreNameInUseException("Custom key store name " + *in.NewCustomKeyStoreName + " is already in use in this account and Region.")
	}
	endpoint, path := r.XksEndpoint, r.XksPath
	if in.XksProxyUriEndpoint != nil {
		endpoint = *in.XksProxyUriEndpoint
	}
	if in.XksProxyUriPath != nil {
		path = *in.XksProxyUriPath
	}
	var sealed []byte
	if proxy {
		if s.xksURIInUse(r.Account, r.Region, endpoint, path, r.ID) {
			return nil, xksURIInUse(endpoint, path)
		}
		keyID := r.XksAccessKeyID
		var secret []byte
		if cr := in.XksProxyAuthenticationCredential; cr != nil {
			keyID, secret = *cr.AccessKeyId, []byte(*cr.RawSecretAccessKey)
		} else {
			var err error
			if secret, err = s.sealer.Open(r.XksSecret, xksSecretAAD(r.Account, r.Region, r.ID)); err != nil {
				return nil, errors.New("custom key store " + r.ID + ": the proxy credential does not open: " + err.Error())
			}
		}
		cl, err := newXKSClient(endpoint, path, keyID, string(secret), r.Region)
		if err == nil {
			err = s.xksHealth(ctx, cl, "UpdateCustomKeyStore")
		}
		if err == nil && in.XksProxyAuthenticationCredential != nil {
			sealed, err = s.sealer.Seal(secret, xksSecretAAD(r.Account, r.Region, r.ID))
		}
		clear(secret)
		if errors.Is(err, xks.ErrInvalidArgument) {
			return nil, kmsapi.NewXksProxyInvalidConfigurationException("The external key store proxy configuration is not valid: " + err.Error())
		}
		if err != nil {
			s.log.Warn("kms: external key store proxy health check failed", "store", r.ID, "err", err)
			return nil, xksStoreError(err)
		}
	}
	err := s.updateKeyStore(ctx, r, func(r *keyStoreRecord) {
		if in.NewCustomKeyStoreName != nil {
			r.Name = *in.NewCustomKeyStoreName
		}
		r.XksEndpoint, r.XksPath = endpoint, path
		if in.XksProxyConnectivity != nil {
			r.XksConnectivity = *in.XksProxyConnectivity
		}
		if sealed != nil {
			r.XksAccessKeyID, r.XksSecret = *in.XksProxyAuthenticationCredential.AccessKeyId, sealed
		}
	})
	if err != nil {
		return nil, err
	}
	return &kmsapi.UpdateCustomKeyStoreResponse{}, nil
}

// xksLogin connects this node to an external store: a client, after a
// health check. The caller holds conn.mu.
func (s *Service) xksLogin(ctx context.Context, r *keyStoreRecord, conn *cksConn) error {
	cl, err := s.xksClient(r)
	if err != nil {
		return err
	}
	if err := s.xksHealth(ctx, cl, "ConnectCustomKeyStore"); err != nil {
		return err
	}
	conn.xks.Store(cl)
	return nil
}

// xksProxyConfiguration is DescribeCustomKeyStores' XksProxyConfiguration:
// everything but the secret.
func xksProxyConfiguration(r *keyStoreRecord) *kmsapi.XksProxyConfigurationType {
	return &kmsapi.XksProxyConfigurationType{Connectivity: wire.Ptr(r.XksConnectivity), AccessKeyId: wire.Ptr(r.XksAccessKeyID),
		UriEndpoint: wire.Ptr(r.XksEndpoint), UriPath: wire.Ptr(r.XksPath)}
}

// xksStoreOfNewKey checks CreateKey of Origin EXTERNAL_KEY_STORE: a
// symmetric encryption key in a connected external store, backed by an
// external key no other KMS key of the store uses, that the proxy says can
// back it (GetKeyMetadata, xks.KeyMetadata.Check).
func (s *Service) xksStoreOfNewKey(ctx context.Context, c Caller, storeID, xksKeyID *string, spec keys.Spec, usage keys.Usage) (*keyStoreRecord, error) {
	switch {
	case storeID == nil:
		return nil, wire.Validation("Origin EXTERNAL_KEY_STORE requires a CustomKeyStoreId.")
	case xksKeyID == nil:
		return nil, wire.Validation("Origin EXTERNAL_KEY_STORE requires an XksKeyId.")
	case spec != keys.SpecSymmetricDefault || usage != keys.UsageEncryptDecrypt:
		return nil, kmsapi.NewUnsupportedOperationException("KMS keys in an external key store must be symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT).")
	}
	r := s.view.keyStore(c.Account, c.Region, *storeID)
	if r == nil {
		return nil, customKeyStoreNotFound(*storeID)
	}
	if r.Type != storeTypeExternal {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is not an external key store; Origin EXTERNAL_KEY_STORE requires one.")
	}
	cl := s.view.conn(r.Region, r.ID).xks.Load()
	if cl == nil {
		return nil, kmsapi.NewCustomKeyStoreInvalidStateException("Custom key store " + r.ID + " is not connected.")
	}
	for _, k := range s.view.keysOf(r.Account, r.Region) {
		if k.rec.CustomKeyStoreID == r.ID && k.rec.XksKeyID == *xksKeyID {
			return nil, kmsapi.NewXksKeyAlreadyInUseException("External key " + *xksKeyID + " is already associated with KMS key " + k.arn + " in custom key store " + r.ID + ".")
		}
	}
	md, err := cl.GetKeyMetadata(ctx, *xksKeyID, xks.RequestMetadata{AWSPrincipalARN: c.ARN, KMSOperation: "CreateKey", KMSRequestID: s.xksRequestID(c)})
	if err == nil {
		err = md.Check()
	}
	if errors.Is(err, xks.ErrKeyConfiguration) {
		return nil, kmsapi.NewXksKeyInvalidConfigurationException("The external key " + *xksKeyID + " cannot back a KMS key: it must be an enabled AES_256 key whose key usage includes ENCRYPT and DECRYPT.")
	}
	if err != nil {
		s.log.Warn("kms: external key metadata", "store", r.ID, "xksKeyId", *xksKeyID, "err", err)
		return nil, xksCreateKeyError(err)
	}
	return r, nil
}

// ---- Ciphertext blobs of keys in external key stores ----
//
//	version(1)=2 | len(keyID)(1) | keyID | len(xksKeyID)(1) | xksKeyID |
//	len(iv)(1) | iv | len(metadata)(1) | metadata | tag(16) | ciphertext
//
// The header up to xksKeyID, followed by the canonical encryption context
// (as keys binds them for local blobs), is the AAD the proxy authenticates;
// iv, metadata and tag are what the proxy returned, which it authenticates
// itself (xks.GCMAAD covers the metadata). Version 2 keeps these blobs apart
// from keys' version 1 so Decrypt needs no KeyId.

const xksBlobVersion = 2

// xksBlob is a parsed XKS ciphertext blob. Its slices alias the blob.
type xksBlob struct {
	KeyID, XksKeyID string
	Ciphertext      xks.Ciphertext
	header          []byte // the bytes bound as AAD, before the context
}

var errXKSBlob = errors.New("kms: malformed external key store ciphertext")

// isXKSBlob reports whether a ciphertext blob is of a key in an external
// key store.
func isXKSBlob(b []byte) bool { return len(b) > 0 && b[0] == xksBlobVersion }

// parseXKSBlob parses a blob made by appendXKSBlob.
func parseXKSBlob(b []byte) (xksBlob, error) {
	var x xksBlob
	if !isXKSBlob(b) {
		return x, errXKSBlob
	}
	rest := b[1:]
	field := func(min, max int) ([]byte, bool) {
		if len(rest) < 1 {
			return nil, false
		}
		n := int(rest[0])
		if n < min || n > max || len(rest) < 1+n {
			return nil, false
		}
		f := rest[1 : 1+n]
		rest = rest[1+n:]
		return f, true
	}
	kid, ok1 := field(1, 255)
	xid, ok2 := field(1, xks.MaxKeyIDLength)
	if !ok1 || !ok2 {
		return x, errXKSBlob
	}
	x.header = b[:len(b)-len(rest)]
	iv, ok1 := field(12, 16)
	md, ok2 := field(0, xks.MaxCiphertextMetadataSize)
	if !ok1 || !ok2 || (len(iv) != 12 && len(iv) != 16) || len(rest) < xks.TagSize+1 {
		return x, errXKSBlob
	}
	x.KeyID, x.XksKeyID = string(kid), string(xid)
	x.Ciphertext = xks.Ciphertext{Ciphertext: rest[xks.TagSize:], IV: iv, Tag: rest[:xks.TagSize]}
	if len(md) > 0 {
		x.Ciphertext.Metadata = md
	}
	return x, nil
}

// xksHeader is the part of a blob known before the proxy is called.
func xksHeader(keyID, xksKeyID string) []byte {
	b := make([]byte, 0, 3+len(keyID)+len(xksKeyID))
	b = append(b, xksBlobVersion, byte(len(keyID)))
	b = append(b, keyID...)
	b = append(b, byte(len(xksKeyID)))
	return append(b, xksKeyID...)
}

// appendXKSBlob appends the proxy's answer to a header.
func appendXKSBlob(hdr []byte, ct xks.Ciphertext) []byte {
	b := make([]byte, 0, len(hdr)+2+len(ct.IV)+len(ct.Metadata)+len(ct.Tag)+len(ct.Ciphertext))
	b = append(b, hdr...)
	b = append(b, byte(len(ct.IV)))
	b = append(b, ct.IV...)
	b = append(b, byte(len(ct.Metadata)))
	b = append(b, ct.Metadata...)
	b = append(b, ct.Tag...)
	return append(b, ct.Ciphertext...)
}

// xksAAD is what the proxy authenticates: the blob header and the
// canonical encryption context, encoded as keys encodes it.
func xksAAD(hdr []byte, ec map[string]string) []byte {
	return keys.AppendContext(hdr[:len(hdr):len(hdr)], ec)
}

// isXKS reports whether a key is in an external key store.
func (k *key) isXKS() bool { return k.rec.XksKeyID != "" }

// xksConnOf returns the client of a key's store, or an Unavailable error.
func xksConnOf(k *key) (*xks.Client, error) {
	if k.cks == nil {
		return nil, errors.New("kms: key " + k.arn + " has no key store connection")
	}
	cl := k.cks.xks.Load()
	if cl == nil {
		return nil, kmsapi.NewKMSInvalidStateException(k.arn + " is unavailable.")
	}
	return cl, nil
}

func xksMetadata(c Caller, k *key, op string, s *Service) xks.RequestMetadata {
	return xks.RequestMetadata{AWSPrincipalARN: c.ARN, KMSKeyARN: k.arn, KMSOperation: op, KMSRequestID: s.xksRequestID(c)}
}

// xksEncrypt encrypts under a key in an external key store.
func (s *Service) xksEncrypt(ctx context.Context, c Caller, k *key, op string, pt []byte, ec map[string]string) ([]byte, error) {
	cl, err := xksConnOf(k)
	if err != nil {
		return nil, err
	}
	hdr := xksHeader(k.rec.ID, k.rec.XksKeyID)
	aad := xksAAD(hdr, ec)
	if len(aad) > xks.MaxAADSize {
		return nil, wire.Validation("The encryption context is too large for a KMS key in an external key store.")
	}
	ct, err := cl.Encrypt(ctx, k.rec.XksKeyID, xksMetadata(c, k, op, s), pt, aad)
	if err != nil {
		s.log.Warn("kms: external key store encrypt", "key", k.arn, "err", err)
		return nil, xksCryptoError(err)
	}
	return appendXKSBlob(hdr, ct), nil
}

// xksDecryptBlob is decryptBlob for XKS blobs: it resolves and authorizes
// the key the blob names and asks the proxy.
func (s *Service) xksDecryptBlob(ctx context.Context, c Caller, blob []byte, ec map[string]string, keyID, alg *string, op string, extra ...string) (*key, []byte, error) {
	x, err := parseXKSBlob(blob)
	if err != nil {
		return nil, nil, kmsapi.NewInvalidCiphertextException("")
	}
	a := decryptAccess(op, ec, alg)
	a.keys = append(a.keys, extra...)
	var k *key
	if keyID != nil {
		if k, err = s.keyFor(c, *keyID, keyOrAlias|crossAccount, a); err != nil {
			return nil, nil, err
		}
		if k.rec.ID != x.KeyID {
			return nil, nil, kmsapi.NewIncorrectKeyException(incorrectKey)
		}
	} else {
		if k = s.view.key(c.Region, x.KeyID); k == nil {
			return nil, nil, accessDenied("The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.")
		}
		if _, err := s.authorize(c, k, a); err != nil {
			return nil, nil, err
		}
	}
	if err := checkKey(k, op); err != nil {
		return nil, nil, err
	}
	if err := checkAlgorithm(k, alg); err != nil {
		return nil, nil, err
	}
	if k.rec.XksKeyID != x.XksKeyID {
		return nil, nil, kmsapi.NewInvalidCiphertextException("")
	}
	cl, err := xksConnOf(k)
	if err != nil {
		return nil, nil, err
	}
	aad := xksAAD(x.header, ec)
	if len(aad) > xks.MaxAADSize {
		return nil, nil, kmsapi.NewInvalidCiphertextException("")
	}
	pt, err := cl.Decrypt(ctx, x.XksKeyID, xksMetadata(c, k, op, s), x.Ciphertext, aad)
	if errors.Is(err, xks.ErrInvalidCiphertext) {
		// A wrong encryption context or a tampered blob: to the caller
		// this is InvalidCiphertextException, as for any other key
		// (the table's KMSInvalidStateException is for ciphertexts KMS
		// itself cannot have produced).
		return nil, nil, kmsapi.NewInvalidCiphertextException("")
	}
	if err != nil {
		s.log.Warn("kms: external key store decrypt", "key", k.arn, "err", err)
		return nil, nil, xksCryptoError(err)
	}
	return k, pt, nil
}

// xksBlobKeyID returns the key id an XKS blob names, for ReEncrypt's
// kms:ReEncryptOnSameKey.
func xksBlobKeyID(b []byte) string {
	x, err := parseXKSBlob(b)
	if err != nil {
		return ""
	}
	return x.KeyID
}

// xksDataKey is generateDataKey for a key in an external key store.
func (s *Service) xksDataKey(ctx context.Context, c Caller, k *key, op string, size int, ec map[string]string) ([]byte, []byte, error) {
	pt := make([]byte, size)
	if _, err := io.ReadFull(s.rand, pt); err != nil {
		return nil, nil, err
	}
	blob, err := s.xksEncrypt(ctx, c, k, op, pt, ec)
	if err != nil {
		clear(pt)
		return nil, nil, err
	}
	return pt, blob, nil
}
