package policy

// statements extracts the elements of root's Statement array.
func statements(root *Node) []Statement {
	arr := root.Get("Statement")
	if arr == nil || arr.Kind != KindArray {
		return nil
	}
	out := make([]Statement, len(arr.Items))
	for i, n := range arr.Items {
		s := &out[i]
		s.Index, s.Node = i, n
		if n.Kind != KindObject {
			continue
		}
		s.Sid = stringOf(n.Get("Sid"))
		s.Effect = stringOf(n.Get("Effect"))
		s.Actions = stringItems(n.Get("Action"))
		s.NotActions = stringItems(n.Get("NotAction"))
		if r := n.Get("Resource"); r != nil && r.Kind == KindObject {
			s.Resources = stringItems(r.Get("uri"))
		} else {
			s.Resources = stringItems(r)
		}
		s.NotResources = stringItems(n.Get("NotResource"))
		s.Condition = conditions(n.Get("Condition"))
	}
	return out
}

// conditions flattens a Condition object into (operator, key) pairs in
// source order. Operators whose value is not an object yield no pair.
func conditions(c *Node) []CondEntry {
	if c == nil || c.Kind != KindObject {
		return nil
	}
	count := 0
	for _, op := range c.Members {
		if op.Value.Kind == KindObject {
			count += len(op.Value.Members)
		}
	}
	if count == 0 {
		return nil
	}
	out := make([]CondEntry, 0, count)
	for _, op := range c.Members {
		if op.Value.Kind != KindObject {
			continue
		}
		for _, key := range op.Value.Members {
			out = append(out, CondEntry{
				Operator: op.Key,
				Key:      key.Key,
				Values:   stringItems(key.Value),
				OpNode:   op.Value,
				KeyNode:  key.Value,
			})
		}
	}
	return out
}

// depends extracts the Depends entries of a 1.0 role; elements that are
// not objects are skipped.
func depends(root *Node) []Depend {
	arr := root.Get("Depends")
	if arr == nil || arr.Kind != KindArray {
		return nil
	}
	var out []Depend
	for _, n := range arr.Items {
		if n.Kind == KindObject {
			out = append(out, Depend{Catalog: stringOf(n.Get("catalog")), DisplayName: stringOf(n.Get("display_name"))})
		}
	}
	return out
}

// stringOf returns the value of a string node, "" for anything else.
func stringOf(n *Node) string {
	if n == nil || n.Kind != KindString {
		return ""
	}
	return n.Str
}

// stringItems returns the string elements of an array node, a one-element
// list for a string node (the 5.0 scalar form), nil for anything else. Taking
// a scalar at its word everywhere keeps a malformed Deny effective when a
// document is evaluated despite lint errors; lint reports the wrong type
// from the node.
func stringItems(n *Node) []string {
	if n != nil && n.Kind == KindString {
		return []string{n.Str}
	}
	if n == nil || n.Kind != KindArray {
		return nil
	}
	count := 0
	for _, it := range n.Items {
		if it.Kind == KindString {
			count++
		}
	}
	if count == 0 {
		return nil
	}
	out := make([]string, 0, count)
	for _, it := range n.Items {
		if it.Kind == KindString {
			out = append(out, it.Str)
		}
	}
	return out
}
