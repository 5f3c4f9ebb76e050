package e2e

import "testing"

// TestAWSCLIOrganizations runs cli_orgs_test.sh: roots, OUs, SCPs and
// RCPs through the AWS CLI v2.
func TestAWSCLIOrganizations(t *testing.T) { runCLIScript(t, "cli_orgs_test.sh") }
