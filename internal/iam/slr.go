package iam

import (
	"context"
	"errors"
	"strings"

	"github.com/trentkms/trent/internal/store"
	"github.com/trentkms/trent/internal/wire"
	"github.com/trentkms/trent/internal/wire/iamapi"
)

// Service principals of KMS that own service-linked roles (KMS Developer
// Guide: service-linked roles for custom key stores and multi-Region keys).
const (
	CustomKeyStoresService = "cks.kms.amazonaws.com"
	MultiRegionKeysService = "mrk.kms.amazonaws.com"
)

type slrSpec struct {
	role, policy, description string
}

var serviceLinkedRoles = map[string]slrSpec{
	CustomKeyStoresService: {
		role:        "AWSServiceRoleForKeyManagementServiceCustomKeyStores",
		policy:      "arn:aws:iam::aws:policy/aws-service-role/AWSKeyManagementServiceCustomKeyStoresServiceRolePolicy",
		description: "Enables access to AWS services and resources required for AWS KMS custom key stores",
	},
	MultiRegionKeysService: {
		role:        "AWSServiceRoleForKeyManagementServiceMultiRegionKeys",
		policy:      "arn:aws:iam::aws:policy/aws-service-role/AWSKeyManagementServiceMultiRegionKeysServiceRolePolicy",
		description: "Enables access to AWS services and resources required for AWS KMS Multi-Region Keys",
	},
}

// RoleUsage is where a service-linked role is still needed: a Region and the
// resources there.
type RoleUsage struct {
	Region    string
	Resources []string
}

// UsageFunc reports where a service-linked role of a service is in use in an
// account; the KMS side registers it so deletion can be refused.
type UsageFunc func(ctx context.Context, account, service string) ([]RoleUsage, error)

// SetRoleUsage registers the check of service-linked role use.
func (d *Directory) SetRoleUsage(f UsageFunc) {
	d.mu.Lock()
	d.usage = f
	d.mu.Unlock()
}

func slrARN(account, service string) string {
	return RoleARN(account, "/aws-service-role/"+service+"/", serviceLinkedRoles[service].role)
}

// CreateServiceLinkedRole creates a service's service-linked role. Callers
// need iam:CreateServiceLinkedRole (condition key iam:AWSServiceName).
func (d *Directory) CreateServiceLinkedRole(ctx context.Context, c Call, in *iamapi.CreateServiceLinkedRoleRequest) (*iamapi.CreateServiceLinkedRoleResponse, error) {
	svc := *in.AWSServiceName
	spec, ok := serviceLinkedRoles[svc]
	if !ok {
		return nil, iamapi.NewInvalidInputException("Service role name for service " + svc + " is not known to this server.")
	}
	if in.CustomSuffix != nil {
		return nil, iamapi.NewInvalidInputException("Custom suffix is not allowed for " + svc)
	}
	r, err := d.ensureSLR(ctx, c, svc, in.Description)
	if errors.Is(err, errSLRExists) {
		return nil, slrNameTaken(spec.role)
	}
	if err != nil {
		return nil, err
	}
	return &iamapi.CreateServiceLinkedRoleResponse{Role: d.apiRole(c.Identity.Account, r, false)}, nil
}

var errSLRExists = errors.New("iam: service-linked role exists")

// slrNameTaken is IAM's answer when a service-linked role's name is taken.
func slrNameTaken(role string) error {
	return iamapi.NewInvalidInputException("Service role name " + role + " has been taken in this account, please try a different suffix.")
}

// EnsureServiceLinkedRole is the call the KMS side makes when a caller creates
// the first resource that needs a service's role (a custom key store, a
// multi-Region primary key): it creates the role unless it exists, which
// requires the caller to hold iam:CreateServiceLinkedRole.
func (d *Directory) EnsureServiceLinkedRole(ctx context.Context, c Call, service string) error {
	_, err := d.ensureSLR(ctx, c, service, nil)
	if errors.Is(err, errSLRExists) {
		return nil
	}
	return err
}

func (d *Directory) ensureSLR(ctx context.Context, c Call, svc string, desc *string) (*Role, error) {
	spec, ok := serviceLinkedRoles[svc]
	if !ok {
		return nil, errors.New("iam: no service-linked role for " + svc)
	}
	acct := c.Identity.Account
	if r := d.role(acct, spec.role); r != nil {
		if r.ServiceName != svc {
			// A role its service did not make (stored before CreateRole
			// refused these names) is not the service's role.
			return nil, slrNameTaken(spec.role)
		}
		return nil, errSLRExists
	}
	if err := d.authorize(c, "iam:CreateServiceLinkedRole", slrARN(acct, svc), "iam:AWSServiceName", svc); err != nil {
		return nil, err
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + svc + `"},"Action":"sts:AssumeRole"}]}`
	description := spec.description
	if desc != nil {
		description = *desc
	}
	r, err := d.newRole(spec.role, "/aws-service-role/"+svc+"/", trust, description, defaultMaxSession)
	if err != nil {
		return nil, err
	}
	r.ServiceName, r.Attached = svc, []string{spec.policy}
	err = d.create(ctx, acct, roleKind, spec.role, r, func() error { return errSLRExists })
	return r, err
}

type slrTask struct {
	ID      string      `json:"id"`
	Status  string      `json:"status"` // SUCCEEDED or FAILED
	Reason  string      `json:"reason,omitempty"`
	InUseBy []RoleUsage `json:"inUseBy,omitempty"`
}

func taskKey(account, id string) string { return accountsPrefix + account + "/iam/slrtasks/" + id }

// DeleteServiceLinkedRole deletes a service-linked role that no resource of
// its service still uses; the returned task reports FAILED, with the Regions
// and resources in the way, when some do.
func (d *Directory) DeleteServiceLinkedRole(ctx context.Context, c Call, in *iamapi.DeleteServiceLinkedRoleRequest) (*iamapi.DeleteServiceLinkedRoleResponse, error) {
	acct, name := c.Identity.Account, *in.RoleName
	if err := d.authorize(c, "iam:DeleteServiceLinkedRole", d.roleARN(acct, name)); err != nil {
		return nil, err
	}
	r, rev := d.roleAt(acct, name)
	if r == nil {
		return nil, noSuchRole(name)()
	}
	if r.ServiceName == "" {
		return nil, iamapi.NewInvalidInputException("Role " + r.Name + " is not a service-linked role.")
	}
	uuid, err := d.newID("")
	if err != nil {
		return nil, err
	}
	task := slrTask{ID: "task/aws-service-role/" + r.ServiceName + "/" + r.Name + "/" + strings.ToLower(uuid), Status: "SUCCEEDED"}
	d.mu.RLock()
	usage := d.usage
	d.mu.RUnlock()
	var inUse []RoleUsage
	if usage != nil {
		if inUse, err = usage(ctx, acct, r.ServiceName); err != nil {
			return nil, err
		}
	}
	txn := store.Txn{Puts: []store.KV{{Key: taskKey(acct, task.ID)}}}
	if len(inUse) > 0 {
		task.Status, task.Reason, task.InUseBy = "FAILED", "Cannot delete the service-linked role because it is in use by resources of "+r.ServiceName+".", inUse
	} else {
		// The role deleted must be the one just checked. (Its service's
		// resources are KMS's: one created between the check above and
		// this write is not seen; closing that needs KMS to compare on the
		// role when it creates them.)
		key := entityKey(acct, roleKind, r.Name)
		txn.Compares = []store.Compare{{Key: key, ModRev: rev}}
		txn.Deletes = []string{key}
	}
	txn.Puts[0].Value = mustJSON(task)
	if err := d.commit(ctx, txn); errors.Is(err, store.ErrConflict) {
		return nil, concurrentModification(errTooManyConflicts)
	} else if err != nil {
		return nil, err
	}
	return &iamapi.DeleteServiceLinkedRoleResponse{DeletionTaskId: wire.Ptr(task.ID)}, nil
}

// GetServiceLinkedRoleDeletionStatus reports a deletion task's outcome.
func (d *Directory) GetServiceLinkedRoleDeletionStatus(ctx context.Context, c Call, in *iamapi.GetServiceLinkedRoleDeletionStatusRequest) (*iamapi.GetServiceLinkedRoleDeletionStatusResponse, error) {
	acct := c.Identity.Account
	if err := d.authorize(c, "iam:GetServiceLinkedRoleDeletionStatus", RoleARN(acct, "/", "")+"*"); err != nil {
		return nil, err
	}
	kv, err := d.st.Get(ctx, taskKey(acct, *in.DeletionTaskId))
	if errors.Is(err, store.ErrNotFound) {
		return nil, iamapi.NewNoSuchEntityException("Deletion task " + *in.DeletionTaskId + " not found.")
	}
	if err != nil {
		return nil, err
	}
	var t slrTask
	if err := jsonUnmarshal(kv.Value, &t); err != nil {
		return nil, err
	}
	out := &iamapi.GetServiceLinkedRoleDeletionStatusResponse{Status: wire.Ptr(t.Status)}
	if t.Status == "FAILED" {
		out.Reason = &iamapi.DeletionTaskFailureReasonType{Reason: wire.Ptr(t.Reason)}
		for _, u := range t.InUseBy {
			out.Reason.RoleUsageList = append(out.Reason.RoleUsageList, iamapi.RoleUsageType{Region: wire.Ptr(u.Region), Resources: u.Resources})
		}
	}
	return out, nil
}
