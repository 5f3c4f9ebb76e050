package e2e

import (
	"bytes"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/trentkms/trent/internal/keystore/xks"
	"github.com/trentkms/trent/internal/keystore/xks/xksproxy"
	"github.com/trentkms/trent/internal/testenv"
	"github.com/trentkms/trent/internal/testserver"
)

// xksProxy serves an in-memory XKS proxy over TLS on 127.0.0.1:443: the
// model's XksProxyUriEndpoint pattern (^https://[a-zA-Z0-9.-]+$) allows
// neither http nor a port. It returns the environment that makes trent
// trust the proxy's certificate.
func xksProxy(t *testing.T, p *xksproxy.Proxy) []string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:443")
	if err != nil {
		testenv.Missing(t, "an XKS proxy needs 127.0.0.1:443: %v", err)
	}
	srv := httptest.NewUnstartedServer(p)
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "xks-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"SSL_CERT_FILE=" + ca}
}

func TestXKS(t *testing.T) {
	const region, path, extKey = "us-east-1", "/example/prefix/kms/xks/v1", "ext-key-1"
	cred := xks.Credential{AccessKeyID: "ABCDEFGHIJKLMNOPQRST234567", Secret: "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6"}
	var proxyLog lockedBuffer
	proxy, err := xksproxy.New(xksproxy.Config{URIPath: path, Region: region, Credentials: []xks.Credential{cred}},
		xksproxy.Options{Log: slog.New(slog.NewJSONHandler(&proxyLog, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := proxy.GenerateKey(extKey, xksproxy.UsageEncrypt|xksproxy.UsageDecrypt); err != nil {
		t.Fatal(err)
	}
	if err := proxy.GenerateKey("sign-only", xksproxy.UsageSign); err != nil {
		t.Fatal(err)
	}
	env := xksProxy(t, proxy)
	srv := testserver.Start(t, testserver.Options{DataDir: t.TempDir(), Env: env})
	c := kms.NewFromConfig(srv.Config(""))
	ctx := testserver.Context(t)
	const endpoint = "https://127.0.0.1"
	create := func(name, secret string) (*kms.CreateCustomKeyStoreOutput, error) {
		return c.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{CustomKeyStoreName: aws.String(name),
			CustomKeyStoreType: types.CustomKeyStoreTypeExternalKeyStore, XksProxyConnectivity: types.XksProxyConnectivityTypePublicEndpoint,
			XksProxyUriEndpoint: aws.String(endpoint), XksProxyUriPath: aws.String(path),
			XksProxyAuthenticationCredential: &types.XksProxyAuthenticationCredentialType{AccessKeyId: aws.String(cred.AccessKeyID), RawSecretAccessKey: aws.String(secret)}})
	}

	_, err = create("xks", "WRONGWRONGWRONGWRONGWRONGWRONGWRONGWRONGWRONG")
	wantErr(t, err, "XksProxyIncorrectAuthenticationCredentialException", "could not authenticate AWS KMS")
	_, err = c.CreateCustomKeyStore(ctx, &kms.CreateCustomKeyStoreInput{CustomKeyStoreName: aws.String("vpc"),
		CustomKeyStoreType: types.CustomKeyStoreTypeExternalKeyStore, XksProxyConnectivity: types.XksProxyConnectivityTypeVpcEndpointService})
	wantErr(t, err, "UnsupportedOperationException", "VPC_ENDPOINT_SERVICE")
	created, err := create("xks", cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	id := *created.CustomKeyStoreId
	_, err = create("xks2", cred.Secret)
	wantErr(t, err, "XksProxyUriInUseException", endpoint+path)

	describe := func(want types.ConnectionStateType, code types.ConnectionErrorCodeType) {
		t.Helper()
		out, err := c.DescribeCustomKeyStores(ctx, &kms.DescribeCustomKeyStoresInput{CustomKeyStoreId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		s := out.CustomKeyStores[0]
		x := s.XksProxyConfiguration
		if s.CustomKeyStoreType != types.CustomKeyStoreTypeExternalKeyStore || s.ConnectionState != want || s.ConnectionErrorCode != code ||
			s.CloudHsmClusterId != nil || x == nil || aws.ToString(x.UriEndpoint) != endpoint || aws.ToString(x.UriPath) != path ||
			aws.ToString(x.AccessKeyId) != cred.AccessKeyID || x.Connectivity != types.XksProxyConnectivityTypePublicEndpoint {
			t.Fatalf("store %+v %+v, want %s %s", s, x, want, code)
		}
	}
	describe(types.ConnectionStateTypeDisconnected, "")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore, CustomKeyStoreId: aws.String(id), XksKeyId: aws.String(extKey)})
	wantErr(t, err, "CustomKeyStoreInvalidStateException", id)
	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	describe(types.ConnectionStateTypeConnected, "")

	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore, CustomKeyStoreId: aws.String(id)})
	wantErr(t, err, "ValidationException", "XksKeyId")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore, CustomKeyStoreId: aws.String(id), XksKeyId: aws.String("missing")})
	wantErr(t, err, "XksKeyNotFoundException", "was not found")
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore, CustomKeyStoreId: aws.String(id), XksKeyId: aws.String("sign-only")})
	wantErr(t, err, "XksKeyInvalidConfigurationException", "sign-only")
	md := newKey(t, c, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore, CustomKeyStoreId: aws.String(id), XksKeyId: aws.String(extKey)})
	if md.Origin != types.OriginTypeExternalKeyStore || aws.ToString(md.CustomKeyStoreId) != id || md.XksKeyConfiguration == nil ||
		aws.ToString(md.XksKeyConfiguration.Id) != extKey || md.KeyState != types.KeyStateEnabled {
		t.Fatalf("key metadata %+v", md)
	}
	_, err = c.CreateKey(ctx, &kms.CreateKeyInput{Origin: types.OriginTypeExternalKeyStore, CustomKeyStoreId: aws.String(id), XksKeyId: aws.String(extKey)})
	wantErr(t, err, "XksKeyAlreadyInUseException", extKey)
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: md.KeyId})
	wantErr(t, err, "UnsupportedOperationException", "origin is EXTERNAL_KEY_STORE")

	ec := map[string]string{"purpose": "xks"}
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("held outside"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	// The proxy sees the request id the caller got back, so its logs match
	// Trent's audit log.
	if rid, ok := middleware.GetRequestIDMetadata(enc.ResultMetadata); !ok || !strings.Contains(proxyLog.String(), `"kms_request_id":"`+rid+`"`) {
		t.Fatalf("the proxy did not see request id %q:\n%s", rid, proxyLog.String())
	}
	decrypt := func() (*kms.DecryptOutput, error) {
		return c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	}
	if dec, err := decrypt(); err != nil || string(dec.Plaintext) != "held outside" || *dec.KeyId != *md.Arn {
		t.Fatalf("Decrypt: %v", err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "other"}})
	wantErr(t, err, "InvalidCiphertextException", "")
	dk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256})
	if err != nil {
		t.Fatal(err)
	}
	if dkpt, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob}); err != nil || !bytes.Equal(dkpt.Plaintext, dk.Plaintext) {
		t.Fatalf("Decrypt of a data key: %v", err)
	}
	local := newKey(t, c, nil)
	re, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyId: local.KeyId})
	if err != nil {
		t.Fatal(err)
	}
	back, err := c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: re.CiphertextBlob, DestinationKeyId: md.KeyId, DestinationEncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: back.CiphertextBlob, EncryptionContext: ec}); err != nil || string(dec.Plaintext) != "held outside" {
		t.Fatalf("Decrypt after ReEncrypt: %v", err)
	}
	_, err = c.GenerateRandom(ctx, &kms.GenerateRandomInput{CustomKeyStoreId: aws.String(id), NumberOfBytes: aws.Int32(8)})
	wantErr(t, err, "UnsupportedOperationException", "external key store")

	// The external key disabled in its key manager.
	if err := proxy.SetStatus(extKey, xks.KeyDisabled); err != nil {
		t.Fatal(err)
	}
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	wantErr(t, err, "KMSInvalidStateException", "is not enabled in the external key manager")
	if err := proxy.SetStatus(extKey, xks.KeyEnabled); err != nil {
		t.Fatal(err)
	}

	_, err = c.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)})
	wantErr(t, err, "CustomKeyStoreInvalidStateException", id)
	if _, err := c.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	desc, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: md.KeyId})
	if err != nil || desc.KeyMetadata.KeyState != types.KeyStateUnavailable {
		t.Fatalf("DescribeKey while disconnected: %v %+v", err, desc)
	}
	_, err = decrypt()
	wantErr(t, err, "KMSInvalidStateException", *md.Arn+" is unavailable.")
	_, err = c.DeleteCustomKeyStore(ctx, &kms.DeleteCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)})
	wantErr(t, err, "CustomKeyStoreHasCMKsException", id)

	// A wrong credential while disconnected is refused by the health
	// check; a proxy that changes its credential makes Connect FAILED.
	_, err = c.UpdateCustomKeyStore(ctx, &kms.UpdateCustomKeyStoreInput{CustomKeyStoreId: aws.String(id),
		XksProxyAuthenticationCredential: &types.XksProxyAuthenticationCredentialType{AccessKeyId: aws.String(cred.AccessKeyID), RawSecretAccessKey: aws.String("WRONGWRONGWRONGWRONGWRONGWRONGWRONGWRONGWRONG")}})
	wantErr(t, err, "XksProxyIncorrectAuthenticationCredentialException", "")
	other := xks.Credential{AccessKeyID: "ZZZZZZZZZZZZZZZZZZZZ", Secret: cred.Secret}
	if err := proxy.SetCredentials([]xks.Credential{other}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	describe(types.ConnectionStateTypeFailed, types.ConnectionErrorCodeTypeInvalidCredentials)
	if _, err := c.DisconnectCustomKeyStore(ctx, &kms.DisconnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if err := proxy.SetCredentials([]xks.Credential{cred}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConnectCustomKeyStore(ctx, &kms.ConnectCustomKeyStoreInput{CustomKeyStoreId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if dec, err := decrypt(); err != nil || string(dec.Plaintext) != "held outside" {
		t.Fatalf("Decrypt after reconnecting: %v", err)
	}
}

// lockedBuffer is a bytes.Buffer safe for the proxy's concurrent log writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
