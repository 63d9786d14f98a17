// Package generate writes least-privilege IAM policies from what a workload really called:
// the engine of `imsguard generate`. It reads decision-log entries (package decisionlog)
// one principal at a time and grants exactly what the requests IMS accepted needed:
//
//   - every action each used API requires, the body-dependent ones as the proxy resolved
//     them (a quick import of type DataImage needs ims:dataImages:create, one of type ECS
//     ims:serverImages:create), and every other action the API requires;
//   - the catalog's dependent actions of each API variant used, placed by service scope:
//     project-level services (IMS, ECS, EVS, KMS, ...) in one policy, global services
//     (OBS, IAM) in another (one policy may not mix them: E-SCOPE-MIX);
//   - wildcards only where they grant nothing more (--collapse exact: ims:images:* only
//     when every catalog action under it is granted; the catalog is closed) or on request
//     (--collapse service), each widening reported;
//   - optionally an IpAddress condition on g:SourceIp with the observed addresses
//     aggregated to CIDR ranges;
//   - within the limits of the lint profile (actions per statement, statements, policy
//     size, values per condition key): what a limit forces wider is reported.
//
// The result is linted with the embedded linter before it is returned. Two warnings can
// only be answered by a finding that stays: W-MISSING-DEPENDENT-ACTION for the OBS
// actions that live in the global policy (or dependent actions of APIs the workload did
// not call but the granted action also opens), and W-PARTIAL-API for APIs the workload
// did not call. Generate writes a [lint] suppression for each, naming the reason, into
// the imsguard.toml beside the policies; any other finding is a bug and fails the run.
//
// Each result carries a report: APIs seen with counts and first/last time, every action
// granted and why, widenings, suppressions, scopes and notes.
//
// Imports: actions, policy, rego/authz (scopes), rego/lint, rego/decisionlog. Functions
// are safe for concurrent use; an Observer is not.
package generate
