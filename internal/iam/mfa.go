package iam

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/trentkms/trent/internal/arn"
	"github.com/trentkms/trent/internal/authz"
	"github.com/trentkms/trent/internal/federation"
	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// maxUserMFADevices is IAM's quota of MFA devices per user.
const maxUserMFADevices = 8

// mfaSeedAAD binds a sealed seed to its device: a seed copied to another
// device's record does not open.
func mfaSeedAAD(serial string) []byte { return []byte("trent/iam/mfa/" + serial) }

func noSuchMFADevice(serial string) error {
	return iamapi.NewNoSuchEntityException("MFA Device with serial number " + serial + " does not exist.")
}

// parseMFASerial returns the account and name of a virtual MFA device's
// serial number (its ARN).
func parseMFASerial(serial string) (account, name string, err error) {
	a, perr := arn.Parse(serial)
	if perr != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "mfa/") {
		return "", "", iamapi.NewInvalidInputException("Serial number " + serial + " is not the ARN of a virtual MFA device.")
	}
	return a.Account, a.Resource[strings.LastIndexByte(a.Resource, '/')+1:], nil
}

func (t *tx) mfaDevice(account, name string) *MFADevice {
	t.read(fedKey(account, mfaDir, strings.ToLower(name)))
	if t.v.fed == nil {
		return nil
	}
	return t.v.fed.mfa[account+"/"+strings.ToLower(name)]
}

// assignedTo reports whether a device is enabled for the user u: the very
// user, not a later one of the same name.
func (m *MFADevice) assignedTo(u *User) bool {
	return u != nil && m.UserName != "" && strings.EqualFold(m.UserName, u.Name) && m.UserID == u.ID
}

func (d *Directory) openSeed(m *MFADevice, account string) ([]byte, error) {
	return d.sealer.Open(m.Seed, mfaSeedAAD(MFADeviceARN(account, m.Path, m.Name)))
}

// CreateVirtualMFADevice makes a virtual MFA device: its seed is answered
// now, as Base32 text and as a QR code, and never again; it is kept sealed.
func (d *Directory) CreateVirtualMFADevice(ctx context.Context, c Call, in *iamapi.CreateVirtualMFADeviceRequest) (*iamapi.CreateVirtualMFADeviceResponse, error) {
	acct, path, name := c.Identity.Account, normPath(in.Path), *in.VirtualMFADeviceName
	serial := MFADeviceARN(acct, path, name)
	if err := d.authorize(c, "iam:CreateVirtualMFADevice", serial, tagConditionKeys(in.Tags)...); err != nil {
		return nil, err
	}
	tags, err := checkTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	seed, err := federation.NewSeed(d.rand)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	sealed, err := d.sealer.Seal(seed, mfaSeedAAD(serial))
	if err != nil {
		return nil, err
	}
	qr, err := federation.QRCode(seed, "Trent", acct+":"+name)
	if err != nil {
		return nil, err
	}
	m := &MFADevice{Name: name, Path: path, Created: d.now().UTC(), Seed: sealed, Tags: tags}
	err = concurrentModification(d.atomically(ctx, func(t *tx) error {
		if t.mfaDevice(acct, name) != nil {
			return iamapi.NewEntityAlreadyExistsException("MFADevice entity at the same path and name already exists.")
		}
		t.put(fedKey(acct, mfaDir, strings.ToLower(name)), m)
		return nil
	}))
	if err != nil {
		return nil, err
	}
	out := &iamapi.VirtualMFADevice{SerialNumber: wire.Ptr(serial), Base32StringSeed: []byte(federation.Base32Seed(seed)), QRCodePNG: qr}
	if len(tags) > 0 {
		out.Tags = apiTags(tags)
	}
	return &iamapi.CreateVirtualMFADeviceResponse{VirtualMFADevice: out}, nil
}

// mfaUserName is the user an MFA operation names: UserName, or the caller
// when it is an IAM user.
func mfaUserName(c Call, name *string) (string, error) {
	if name != nil {
		return *name, nil
	}
	if c.Identity.Type == authz.UserType {
		return c.Identity.Name, nil
	}
	return "", wire.QueryValidation("Must specify userName when calling with non-User credentials")
}

// hasMFADevice reports whether a device is enabled for u; the user's record,
// which EnableMFADevice rewrites, guards the answer.
func (t *tx) hasMFADevice(u *User) bool {
	if t.v.fed == nil {
		return false
	}
	for _, m := range t.v.fed.mfa {
		if m.assignedTo(u) {
			return true
		}
	}
	return false
}

// updateUserMFA runs fn on a device of the caller's account and the user it
// concerns, in one transaction that also guards the user's record.
func (d *Directory) updateUserMFA(ctx context.Context, c Call, action, userName, serial string, fn func(t *tx, u *User, m *MFADevice, seed []byte) error) error {
	acct := c.Identity.Account
	if err := d.authorize(c, action, d.userARN(acct, userName)); err != nil {
		return err
	}
	devAcct, name, err := parseMFASerial(serial)
	if err != nil {
		return err
	}
	return concurrentModification(d.atomically(ctx, func(t *tx) error {
		u := t.user(acct, userName)
		if u == nil {
			return noSuchUser(userName)()
		}
		cur := t.mfaDevice(acct, name)
		if cur == nil || devAcct != acct || MFADeviceARN(acct, cur.Path, cur.Name) != serial {
			return noSuchMFADevice(serial)
		}
		m := clone(cur)
		seed, err := d.openSeed(m, acct)
		if err != nil {
			return err
		}
		defer clear(seed)
		if err := fn(t, u, m, seed); err != nil {
			return err
		}
		t.put(fedKey(acct, mfaDir, strings.ToLower(name)), m)
		return nil
	}))
}

func invalidCodes() error {
	return iamapi.NewInvalidAuthenticationCodeException("Authentication code for device is not valid.")
}

// EnableMFADevice assigns a virtual MFA device to a user, proven by two
// consecutive codes.
func (d *Directory) EnableMFADevice(ctx context.Context, c Call, in *iamapi.EnableMFADeviceRequest) (*struct{}, error) {
	err := d.updateUserMFA(ctx, c, "iam:EnableMFADevice", *in.UserName, *in.SerialNumber, func(t *tx, u *User, m *MFADevice, seed []byte) error {
		if m.UserName != "" {
			return iamapi.NewEntityAlreadyExistsException("MFA Device is already in use.")
		}
		n := 0
		for _, o := range t.v.fed.mfa {
			if o.assignedTo(u) {
				n++
			}
		}
		if n >= maxUserMFADevices {
			return iamapi.NewLimitExceededException("Cannot exceed quota for MFADevicesPerUser: 8")
		}
		step, drift, ok := federation.CheckConsecutive(seed, *in.AuthenticationCode1, *in.AuthenticationCode2, d.now())
		if !ok || step <= m.LastStep {
			return invalidCodes()
		}
		m.UserName, m.UserID, m.Enabled, m.LastStep, m.Drift = u.Name, u.ID, d.now().UTC(), step, drift
		// The user's record guards its set of devices (txn.go): rewriting
		// it makes a concurrent enable for the same user conflict.
		t.put(entityKey(c.Identity.Account, userKind, u.Name), u)
		return nil
	})
	return &struct{}{}, err
}

// ResyncMFADevice corrects a device's clock drift from two consecutive
// codes.
func (d *Directory) ResyncMFADevice(ctx context.Context, c Call, in *iamapi.ResyncMFADeviceRequest) (*struct{}, error) {
	err := d.updateUserMFA(ctx, c, "iam:ResyncMFADevice", *in.UserName, *in.SerialNumber, func(_ *tx, u *User, m *MFADevice, seed []byte) error {
		if !m.assignedTo(u) {
			return noSuchMFADevice(*in.SerialNumber)
		}
		step, drift, ok := federation.CheckConsecutive(seed, *in.AuthenticationCode1, *in.AuthenticationCode2, d.now())
		if !ok || step <= m.LastStep {
			return invalidCodes()
		}
		m.LastStep, m.Drift = step, drift
		return nil
	})
	return &struct{}{}, err
}

// DeactivateMFADevice unassigns a device from its user; the device remains.
func (d *Directory) DeactivateMFADevice(ctx context.Context, c Call, in *iamapi.DeactivateMFADeviceRequest) (*struct{}, error) {
	user, err := mfaUserName(c, in.UserName)
	if err != nil {
		return nil, err
	}
	err = d.updateUserMFA(ctx, c, "iam:DeactivateMFADevice", user, *in.SerialNumber, func(_ *tx, u *User, m *MFADevice, _ []byte) error {
		if !m.assignedTo(u) {
			return noSuchMFADevice(*in.SerialNumber)
		}
		m.UserName, m.UserID, m.Enabled, m.Drift = "", "", time.Time{}, 0
		return nil
	})
	return &struct{}{}, err
}

// DeleteVirtualMFADevice deletes an unassigned device.
func (d *Directory) DeleteVirtualMFADevice(ctx context.Context, c Call, in *iamapi.DeleteVirtualMFADeviceRequest) (*struct{}, error) {
	acct, serial := c.Identity.Account, *in.SerialNumber
	devAcct, name, err := parseMFASerial(serial)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(c, "iam:DeleteVirtualMFADevice", serial); err != nil {
		return nil, err
	}
	err = concurrentModification(d.atomically(ctx, func(t *tx) error {
		m := t.mfaDevice(acct, name)
		if m == nil || devAcct != acct || MFADeviceARN(acct, m.Path, m.Name) != serial {
			return noSuchMFADevice(serial)
		}
		if m.UserName != "" {
			if u := t.user(acct, m.UserName); m.assignedTo(u) {
				return iamapi.NewDeleteConflictException("MFA Device is still in use")
			}
		}
		t.del(fedKey(acct, mfaDir, strings.ToLower(name)))
		return nil
	}))
	return &struct{}{}, err
}

// devices returns the account's devices by name.
func (d *Directory) devices(account string) []*MFADevice {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []*MFADevice
	if d.v.fed != nil {
		for idx, m := range d.v.fed.mfa {
			if strings.HasPrefix(idx, account+"/") {
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

// ListMFADevices lists the devices enabled for a user (the caller when no
// user is named).
func (d *Directory) ListMFADevices(ctx context.Context, c Call, in *iamapi.ListMFADevicesRequest) (*iamapi.ListMFADevicesResponse, error) {
	acct := c.Identity.Account
	name, err := mfaUserName(c, in.UserName)
	if err != nil {
		return nil, err
	}
	if err := d.authorize(c, "iam:ListMFADevices", d.userARN(acct, name)); err != nil {
		return nil, err
	}
	u := d.user(acct, name)
	if u == nil {
		return nil, noSuchUser(name)()
	}
	var mine []*MFADevice
	for _, m := range d.devices(acct) {
		if m.assignedTo(u) {
			mine = append(mine, m)
		}
	}
	got, trunc, marker, err := pageOf(mine, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListMFADevicesResponse{MFADevices: []iamapi.MFADevice{}, IsTruncated: trunc, Marker: marker}
	for _, m := range got {
		out.MFADevices = append(out.MFADevices, iamapi.MFADevice{UserName: wire.Ptr(u.Name), SerialNumber: wire.Ptr(MFADeviceARN(acct, m.Path, m.Name)), EnableDate: wire.Ptr(wire.Timestamp(m.Enabled))})
	}
	return out, nil
}

// ListVirtualMFADevices lists the account's virtual devices, never their
// seeds.
func (d *Directory) ListVirtualMFADevices(ctx context.Context, c Call, in *iamapi.ListVirtualMFADevicesRequest) (*iamapi.ListVirtualMFADevicesResponse, error) {
	acct := c.Identity.Account
	// No resource type: authorized on "*" (Service Authorization Reference).
	if err := d.authorize(c, "iam:ListVirtualMFADevices", "*"); err != nil {
		return nil, err
	}
	status := "Any"
	if in.AssignmentStatus != nil {
		status = *in.AssignmentStatus
	}
	var sel []*MFADevice
	for _, m := range d.devices(acct) {
		assigned := m.UserName != "" && m.assignedTo(d.user(acct, m.UserName))
		if status == "Any" || (status == "Assigned") == assigned {
			sel = append(sel, m)
		}
	}
	got, trunc, marker, err := pageOf(sel, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &iamapi.ListVirtualMFADevicesResponse{VirtualMFADevices: []iamapi.VirtualMFADevice{}, IsTruncated: trunc, Marker: marker}
	for _, m := range got {
		v := iamapi.VirtualMFADevice{SerialNumber: wire.Ptr(MFADeviceARN(acct, m.Path, m.Name))}
		if u := d.user(acct, m.UserName); m.UserName != "" && m.assignedTo(u) {
			v.User, v.EnableDate = d.apiUser(acct, u), wire.Ptr(wire.Timestamp(m.Enabled))
		}
		if len(m.Tags) > 0 {
			v.Tags = apiTags(m.Tags)
		}
		out.VirtualMFADevices = append(out.VirtualMFADevices, v)
	}
	return out, nil
}

// mfaUse is a checked MFA code: the device record to write back with the
// code's step (so the code is not accepted again) and the compare that
// makes the session's write fail if the device changed since.
type mfaUse struct {
	put   store.KV
	guard store.Compare
}

// mfaFailed is STS's answer to a code it does not accept.
func mfaFailed() error {
	return wire.Errorf("AccessDenied", 403, "MultiFactorAuthentication failed with invalid MFA one time pass code. ")
}

// checkMFA checks the SerialNumber and TokenCode of an STS request: a
// device enabled for the calling IAM user and its current code, not used
// before. nil, nil when the request has neither.
func (d *Directory) checkMFA(c Call, serial, code *string) (*mfaUse, error) {
	if serial == nil && code == nil {
		return nil, nil
	}
	if serial == nil || code == nil || c.Identity.Type != authz.UserType {
		return nil, wire.Errorf("AccessDenied", 403, "MultiFactorAuthentication failed, unable to validate MFA code.")
	}
	acct, name, err := parseMFASerial(*serial)
	if err != nil || acct != c.Identity.Account {
		return nil, mfaFailed()
	}
	d.mu.RLock()
	u := d.v.users[entityIndex(acct, c.Identity.Name)]
	var m *MFADevice
	if d.v.fed != nil {
		m = d.v.fed.mfa[acct+"/"+strings.ToLower(name)]
	}
	key := fedKey(acct, mfaDir, strings.ToLower(name))
	rev := d.v.revs[key]
	d.mu.RUnlock()
	if m == nil || MFADeviceARN(acct, m.Path, m.Name) != *serial || u == nil || u.ID != c.Identity.UserID || !m.assignedTo(u) {
		return nil, mfaFailed()
	}
	seed, err := d.openSeed(m, acct)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	step, ok := federation.CheckCode(seed, *code, d.now(), m.Drift, m.LastStep)
	if !ok {
		d.log.Info("iam: MFA code refused", "caller", c.Identity.ARN, "device", *serial)
		return nil, mfaFailed()
	}
	used := clone(m)
	used.LastStep = step
	return &mfaUse{put: store.KV{Key: key, Value: mustJSON(used)}, guard: store.Compare{Key: key, ModRev: rev}}, nil
}

// puts and compare are what a session issued with a checked code writes
// and compares (none without one).
func (u *mfaUse) puts() []store.KV {
	if u == nil {
		return nil
	}
	return []store.KV{u.put}
}

func (u *mfaUse) compare() store.Compare {
	if u == nil {
		return store.Compare{}
	}
	return u.guard
}

// withMFA marks a session authenticated by a code at now.
func (s sessionRecord) withMFA(u *mfaUse, now time.Time) sessionRecord {
	if u != nil {
		s.MFA = now
	}
	return s
}
