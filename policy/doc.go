// Package policy reads Huawei Cloud / G42 IAM policy documents: it parses JSON
// while keeping the line, column and JSON pointer of every value, detects the
// policy family (1.0 role, 1.1 fine-grained policy, 1.1 agency policy, 5.0
// identity policy), unwraps the API wrappers ({"role":…}, {"roles":[…]},
// {"policy_document":"…"}) and extracts statements into a typed model.
//
// The package performs no semantic validation: it reports only JSON-level
// problems (codes E-JSON and E-JSON-DUPKEY) and leaves everything else to the
// lint rules, which can map any JSON pointer back to a position with
// [File.PosOf] or [Node.Find].
//
// It also owns what conditions mean: [NewPredicate] turns one (operator, key) pair into a
// typed [Predicate] over the key's request values — IP addresses as CIDR ranges, dates
// and numbers as intervals, strings as finite sets, prefixes, suffixes, substrings and
// glob patterns, Bool, the null checks, IfExists and ForAllValues/ForAnyValue — with the
// decision engine's semantics, and [Implies], [ImpliesAll] and [Satisfiable] compare
// predicates: proven true, proven false with a counterexample, or unknown. The
// operator catalogue ([ParseOperator]) and the condition value parsers are shared with
// the lint rules and the engine.
//
// Parsing never panics and never loops forever, whatever the input. All
// functions are safe for concurrent use; the returned trees are not modified
// after they are returned and may be read from several goroutines at once.
package policy
