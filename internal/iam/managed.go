package iam

import "time"

// AWSManagedPolicy is a policy AWS maintains, under arn:aws:iam::aws:policy/….
// Versions keeps its history as AWS publishes it: the newest is the default.
type AWSManagedPolicy struct {
	Name        string
	Path        string
	Description string
	Document    string // the default (newest) version
	Versions    []PolicyVersion
}

// ARN is arn:aws:iam::aws:policy<path><name>.
func (p *AWSManagedPolicy) ARN() string { return "arn:aws:iam::aws:policy" + p.Path + p.Name }

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func managedPolicy(name, path, desc string, versions ...PolicyVersion) *AWSManagedPolicy {
	return &AWSManagedPolicy{Name: name, Path: path, Description: desc, Versions: versions, Document: versions[len(versions)-1].Document}
}

// awsManagedPolicies are the AWS managed policies KMS users and Trent's own
// service-linked roles need. The documents and version dates follow the AWS
// managed policy reference for each.
var awsManagedPolicies = []*AWSManagedPolicy{
	managedPolicy("AdministratorAccess", "/", "Provides full access to AWS services and resources.",
		PolicyVersion{ID: "v1", Created: day("2015-02-06"), Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}),
	managedPolicy("IAMFullAccess", "/", "Provides full access to IAM via the AWS Management Console.",
		PolicyVersion{ID: "v1", Created: day("2015-02-06"), Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`},
		PolicyVersion{ID: "v2", Created: day("2019-06-21"), Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}`}),
	managedPolicy("AWSKeyManagementServicePowerUser", "/", "Provides access to AWS Key Management Service (KMS).",
		PolicyVersion{ID: "v1", Created: day("2015-02-06"), Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias","kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*","iam:ListGroups","iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}`},
		PolicyVersion{ID: "v2", Created: day("2017-03-07"), Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias","kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*","kms:TagResource","kms:UntagResource","iam:ListGroups","iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}`}),
	managedPolicy("AWSKeyManagementServiceCustomKeyStoresServiceRolePolicy", "/aws-service-role/", "Enables access to AWS services and resources required for AWS KMS custom key stores.",
		PolicyVersion{ID: "v1", Created: day("2018-11-14"), Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudhsm:Describe*","ec2:CreateNetworkInterface","ec2:AuthorizeSecurityGroupIngress","ec2:CreateSecurityGroup","ec2:DescribeSecurityGroups","ec2:RevokeSecurityGroupEgress","ec2:DeleteSecurityGroup","ec2:DescribeVpcs","ec2:DescribeNetworkAcls","ec2:DescribeNetworkInterfaces"],"Resource":"*"}]}`},
		PolicyVersion{ID: "v2", Created: day("2023-11-10"), Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudhsm:Describe*","ec2:CreateNetworkInterface","ec2:AuthorizeSecurityGroupIngress","ec2:CreateSecurityGroup","ec2:DescribeSecurityGroups","ec2:RevokeSecurityGroupEgress","ec2:DeleteSecurityGroup","ec2:DescribeVpcs","ec2:DescribeNetworkAcls","ec2:DescribeNetworkInterfaces"],"Resource":"*"},{"Effect":"Allow","Action":["ec2:CreateTags"],"Resource":"arn:aws:ec2:*:*:security-group/*","Condition":{"StringEquals":{"ec2:CreateAction":"CreateSecurityGroup"}}}]}`}),
	managedPolicy("AWSKeyManagementServiceMultiRegionKeysServiceRolePolicy", "/aws-service-role/", "Enables access to AWS services and resources required for AWS KMS Multi-Region Keys.",
		PolicyVersion{ID: "v1", Created: day("2021-06-16"), Document: `{"Version":"2012-10-17","Statement":[{"Sid":"AllowSynchronizeMultiRegionKey","Effect":"Allow","Action":["kms:SynchronizeMultiRegionKey"],"Resource":"*"}]}`}),
}

func awsManaged(policyARN string) *AWSManagedPolicy {
	for _, p := range awsManagedPolicies {
		if p.ARN() == policyARN {
			return p
		}
	}
	return nil
}

// AWSManagedPolicies lists the AWS managed policies this server knows.
func AWSManagedPolicies() []*AWSManagedPolicy { return awsManagedPolicies }
