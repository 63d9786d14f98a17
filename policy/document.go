package policy

import (
	"fmt"
	"strings"
)

// Family is the policy language a document is written in, decided by its
// Version (and, for 1.1, the shape of its Resource).
type Family string

// The policy families.
const (
	// FamilyRole is a 1.0 role (RBAC) document, possibly with Depends.
	FamilyRole Family = "role"
	// FamilyPolicy is a 1.1 fine-grained policy, the custom policy format.
	FamilyPolicy Family = "policy"
	// FamilyAgency is a 1.1 policy with an object-typed Resource
	// ({"uri": [...]}): the agency custom policy variant.
	FamilyAgency Family = "agency"
	// FamilyIdentity is a 5.0 identity policy (IAM 5.0, SCPs).
	FamilyIdentity Family = "identity"
	// FamilyUnknown is a document whose Version is missing, not a string or
	// not one of "1.0", "1.1" and "5.0".
	FamilyUnknown Family = "unknown"
)

// Wrapper kinds of a [Document]: how the policy was found in its file.
const (
	// WrapperNone means the file root is the policy.
	WrapperNone = ""
	// WrapperRole means {"role": {..., "policy": {...}}}, a create/modify
	// request or a single-role response.
	WrapperRole = "role"
	// WrapperRoles means {"roles": [{..., "policy": {...}}, ...]}, a list
	// response; there is one Document per element.
	WrapperRoles = "roles"
	// WrapperPolicyDocument means {"policy_document": "<JSON text>"}, a
	// v5 create request holding the policy as a string.
	WrapperPolicyDocument = "policy_document"
)

// File is one parsed input file with the policy documents found in it.
type File struct {
	// Name is the file name as given, "-" for standard input.
	Name string
	// Data is the file content as read.
	Data []byte
	// Root is the parsed file, nil when nothing could be parsed; after a
	// syntax error it holds what was parsed before the error.
	Root *Node
	// Documents are the policies in the file, in source order. There are
	// none when the file (or the policy_document string) has an E-JSON
	// problem.
	Documents []*Document
	// Problems are the JSON-level problems (E-JSON, E-JSON-DUPKEY), also
	// those inside a policy_document string, with file positions.
	Problems []Problem
}

// Document is one policy document and what the linter and the evaluator
// need from it. Nodes keep their positions and pointers from the file root.
type Document struct {
	// Source is the name of the file the document comes from.
	Source string
	// Root is the policy object, nil when a role wrapper has no object
	// "policy" (lint reports the wrapper error).
	Root *Node
	// Wrapper is the enclosing role object for {"role": ...} and roles[i]
	// (roles[i] may be any JSON value); nil otherwise.
	Wrapper *Node
	// WrapperKind is one of WrapperNone, WrapperRole, WrapperRoles and
	// WrapperPolicyDocument.
	WrapperKind string
	// Version is the Version member, "" when missing or not a string.
	Version string
	// Family is the policy language, derived from Version.
	Family Family
	// Statements are the elements of the Statement array, also those that
	// are not objects; nil when Statement is missing or not an array.
	Statements []Statement
	// Depends are the Depends entries of a 1.0 role; nil for other
	// families.
	Depends []Depend
}

// Statement is one element of a document's Statement array. Only
// well-typed parts are extracted; lint inspects Node for the rest.
type Statement struct {
	// Index is the position in the Statement array.
	Index int
	// Node is the statement value (normally an object).
	Node *Node
	// Sid and Effect are the string values as written, "" when missing or
	// not strings.
	Sid, Effect string
	// Actions and NotActions are the string elements of the Action and
	// NotAction arrays. A single string counts as a one-element list;
	// non-strings are skipped. Lint checks the types on Node.
	Actions, NotActions []string
	// Resources are the string elements of the Resource array or, for an
	// agency statement, of its "uri" array (a single string counts as a
	// one-element list).
	Resources []string
	// NotResources are the string elements of the 5.0 NotResource array
	// (a single string counts as a one-element list).
	NotResources []string
	// Condition lists every (operator, key) pair of the Condition object in
	// source order.
	Condition []CondEntry
}

// CondEntry is one (operator, key) pair of a Condition.
type CondEntry struct {
	// Operator is the operator as written, e.g. "StringEquals" or
	// "ForAnyValue:StringEqualsIfExists".
	Operator string
	// Key is the condition key as written, e.g. "g:UserName".
	Key string
	// Values are the string elements of the key's array; a single string
	// (allowed in 5.0, an error in 1.1 that lint reports from KeyNode) is a
	// one-element list.
	Values []string
	// OpNode is the operator's value (normally an object of keys).
	OpNode *Node
	// KeyNode is the key's value (normally an array of strings).
	KeyNode *Node
}

// Depend is one Depends entry of a 1.0 role: a role that must be granted
// in the same project.
type Depend struct {
	// Catalog and DisplayName are the "catalog" and "display_name"
	// strings, "" when missing or not strings.
	Catalog, DisplayName string
}

// Parse parses a policy file and unwraps the documents in it (spec §2 and
// §9): {"role": {"policy": ...}}, {"roles": [...]}, {"policy_document":
// "<JSON>"} or a bare policy object. It never panics; problems are returned
// in File.Problems.
func Parse(name string, data []byte) *File {
	f := &File{Name: name, Data: data}
	var src string
	var start int
	f.Root, f.Problems, src, start = parseFile(data)
	if f.Root == nil || hasCode(f.Problems, CodeJSON) {
		return f
	}
	if f.Root.Kind != KindObject {
		f.Problems = append(f.Problems, notObject(f.Root, ""))
		return f
	}
	f.Documents = f.unwrap(src, start)
	return f
}

// DocumentsIn finds the policy documents in n, a value inside the JSON text data that
// [ParseJSON] parsed (a policy written inline in a larger file, such as an
// `imsguard eval` input), as Parse does for a file root: a wrapper or a bare policy
// object. Positions and pointers stay those of the enclosing text. The problems are only
// those found inside n (a value that is not an object, a policy_document string's syntax
// errors); the enclosing text's own problems are the caller's.
func DocumentsIn(name string, data []byte, n *Node) ([]*Document, []Problem) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != KindObject {
		return nil, []Problem{notObject(n, "")}
	}
	src, start := string(data), 0
	if strings.HasPrefix(src, bom) {
		start = len(bom)
	}
	f := &File{Name: name, Data: data, Root: n}
	docs := f.unwrap(src, start)
	return docs, f.Problems
}

// unwrap finds the documents in the root object (§2 detection step 1).
func (f *File) unwrap(src string, start int) []*Document {
	root := f.Root
	if role := root.Get("role"); role != nil && role.Kind == KindObject {
		return []*Document{newDocument(f.Name, objectOrNil(role.Get("policy")), role, WrapperRole)}
	}
	if roles := root.Get("roles"); roles != nil && roles.Kind == KindArray {
		docs := make([]*Document, 0, len(roles.Items))
		for _, role := range roles.Items {
			docs = append(docs, newDocument(f.Name, objectOrNil(role.Get("policy")), role, WrapperRoles))
		}
		return docs
	}
	if pd := root.Get("policy_document"); pd != nil && pd.Kind == KindString {
		inner, probs := parseEmbedded(src, start, pd)
		f.Problems = append(f.Problems, probs...)
		if inner == nil || hasCode(probs, CodeJSON) {
			return nil
		}
		if inner.Kind != KindObject {
			f.Problems = append(f.Problems, notObject(inner, embeddedPrefix))
			return nil
		}
		return []*Document{newDocument(f.Name, inner, nil, WrapperPolicyDocument)}
	}
	return []*Document{newDocument(f.Name, root, nil, WrapperNone)}
}

// newDocument builds the model of the policy object root.
func newDocument(source string, root, wrapper *Node, kind string) *Document {
	d := &Document{Source: source, Root: root, Wrapper: wrapper, WrapperKind: kind}
	if v := root.Get("Version"); v != nil && v.Kind == KindString {
		d.Version = v.Str
	}
	d.Statements = statements(root)
	d.Family = family(d.Version, d.Statements)
	if d.Family == FamilyRole {
		d.Depends = depends(root)
	}
	return d
}

// family applies §2 detection step 2.
func family(version string, stmts []Statement) Family {
	switch version {
	case "1.0":
		return FamilyRole
	case "1.1":
		for _, s := range stmts {
			if r := s.Node.Get("Resource"); r != nil && r.Kind == KindObject {
				return FamilyAgency
			}
		}
		return FamilyPolicy
	case "5.0":
		return FamilyIdentity
	default:
		return FamilyUnknown
	}
}

// PosOf returns the position of the value at a JSON pointer from the file
// root, including pointers into a policy_document string
// ("/policy_document/Statement/0"). When the pointer designates nothing
// (e.g. a missing member) it returns the position of the deepest existing
// value on its path and false; (Pos{}, false) when the file has no tree.
func (f *File) PosOf(pointer string) (Pos, bool) {
	for _, d := range f.Documents {
		if d.WrapperKind != WrapperPolicyDocument || d.Root == nil {
			continue
		}
		if rest, ok := strings.CutPrefix(pointer, d.Root.Pointer); ok && (rest == "" || rest[0] == '/') {
			n, exact := d.Root.Locate(rest)
			if n == nil {
				return d.Root.Pos, false
			}
			return n.Pos, exact
		}
	}
	n, exact := f.Root.Locate(pointer)
	if n == nil {
		if f.Root != nil {
			return f.Root.Pos, false
		}
		return Pos{}, false
	}
	return n.Pos, exact
}

func notObject(n *Node, msgPrefix string) Problem {
	return Problem{
		Code:     CodeJSON,
		Severity: SeverityError,
		Message:  fmt.Sprintf("%spolicy document must be a JSON object, found %s; write {\"Version\": ..., \"Statement\": [...]}", msgPrefix, article(n.Kind)),
		Pos:      n.Pos,
		Pointer:  n.Pointer,
	}
}

func article(k Kind) string {
	switch k {
	case KindArray, KindObject:
		return "an " + k.String()
	case KindNull:
		return "null"
	default:
		return "a " + k.String()
	}
}

func objectOrNil(n *Node) *Node {
	if n == nil || n.Kind != KindObject {
		return nil
	}
	return n
}

func hasCode(probs []Problem, code string) bool {
	for _, p := range probs {
		if p.Code == code {
			return true
		}
	}
	return false
}
