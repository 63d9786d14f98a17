// Package diff compares two policy sets and says what the change does to access: the
// engine of `imsguard diff`, the CI gate that must never miss a widening.
//
// Both sets are read into a semantic model — per attachment scope, per statement: the
// effect, the action patterns (every service, not only IMS), the resources and the
// Condition as policy.Predicate values — that decides requests exactly as the Rego engine
// does (the property tests hold the two against each other). Statements are compared as
// sets, so files split, merged, renamed or reordered make no change. For each statement
// that is new or gone, the analysis proves what it can:
//
//   - a new or changed Allow admits nothing the old policies did not allow: each of its
//     action patterns lies inside an old Allow (scope, actions, resources, conditions),
//     or inside a new Deny;
//   - a Deny that is gone or changed still denies everything the new Allows reach: it
//     lies inside a new Deny, or shares no request with each new Allow.
//
// What is not proven is searched for a counterexample: a concrete request (action,
// project, enterprise project, condition values) the new policies allow and the old
// ones did not. A change with one is a widening ("widen", with the request); a change
// that is neither proven nor refuted is "changed-unproven", which a gate treats as a
// widening — a sound checker passes only what it has proven. The reverse questions give
// "narrow" and "neutral".
//
// For IMS, the route-level view stays: every IMS API and action whose status (Allowed,
// Conditional, Denied) changes, from explain.Compare. All functions are safe for concurrent
// use; a Report is not modified after Compare returns it.
package diff
