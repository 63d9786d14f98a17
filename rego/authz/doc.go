// Package authz decides IAM requests against IMS policies: the decision engine behind the
// proxy, `imsguard eval`, explain and diff. Its Rego modules (authz.rego, conditions.rego,
// with their *_test.rego unit tests) are embedded and compiled once (Prepare) and are the
// reference: the meaning of a decision. A Runtime serves every Engine of a process; an
// Engine builds one policy set (its attachments with their scopes) and compiles it into
// generated Rego shaped for OPA's rule index, whose conditions are typed predicates
// evaluated in Go. A decision evaluates that program — or answers from the decision cache,
// keyed on the request's shape and the truth of each condition it checked. Explanations,
// and policy sets the compiler cannot take, are decided by the reference; a differential
// fuzz test holds the two to the same decisions and matched statements.
//
// Files: api.go (Input, Decision, Attachment, Scope: the types callers use), engine.go
// (Prepare, New, Decide), policyset.go (attachments turned into the policy set the Rego reads), compile.go
// (the generated Rego of a policy set), compiled.go (its evaluation: conditions, input,
// hits), export.go (the program as files or a bundle for `imsguard compile`), cache.go
// (the decision cache), result.go (decoding a Rego result into a Decision), depends.go
// (dependent-action notes), evalfile.go and evaljson.go (the `imsguard eval --input` file,
// read with the policy package's positioned parser), resource.go (request resources, spec
// §6.3), why.go (Engine.Why: a decision explained statement by statement), suggest.go
// (the did-you-mean for actions the catalog does not list), embed.go.
//
// Imports: actions, policy, rego/opa and OPA. OPA types never leave the package. Engines
// and Runtimes are safe for concurrent use.
package authz
