// Package actions holds the IMS action catalog and the fail-closed route matcher.
//
// The catalog (catalog.toml, embedded) lists every API of the G42 Cloud IMS API reference
// dated 2021-06-30 with the IAM actions it requires, the actions it requires only for some
// request bodies (conditional actions), the dependent actions of other services it needs,
// and whether IAM-project and enterprise-project grants are honoured for it.
//
// The matcher maps an HTTP method and URL (and, for the few APIs whose actions depend on it,
// the request body) to exactly one API, or to a typed "no API" result. It never guesses:
// a path that is not in one canonical form (empty or dot segments, encoded slashes, control
// characters, invalid percent-encoding, characters outside RFC 3986 "unreserved") is no API,
// even if it would reach an API after normalization.
//
// A *Catalog is immutable once loaded and safe for concurrent use.
package actions
