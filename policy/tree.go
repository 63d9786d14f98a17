package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// maxPointerBytes bounds the total length of all JSON pointers of one tree.
// Pointers repeat their parent's, so a long key above many values would
// otherwise let a 1 MiB file demand gigabytes.
const maxPointerBytes = 64 << 20

// node allocates a node of kind k at offset off.
func (p *parser) node(k Kind, off int) *Node {
	if len(p.slab) == cap(p.slab) {
		// Pretty-printed policies take about 24 bytes per value, minified
		// ones about 16: size the first slab for the whole input and the
		// next ones for what is left.
		size := len(p.src)/20 + 8
		if cap(p.slab) > 0 {
			size = (len(p.src)-p.i)/12 + 8
		}
		p.slab = make([]Node, 0, min(size, 1024))
	}
	p.slab = p.slab[:len(p.slab)+1]
	n := &p.slab[len(p.slab)-1]
	n.Kind = k
	n.Pos = p.pos(off)
	p.ptrBytes += p.childLen()
	return n
}

// takeMembers moves the members mscratch[mark:] into a slice of their own.
func (p *parser) takeMembers(mark int) []Member {
	ms := p.mscratch[mark:]
	if len(ms) == 0 {
		return nil
	}
	if cap(p.marena)-len(p.marena) < len(ms) {
		p.marena = make([]Member, 0, max(len(ms), min(2*cap(p.marena), 4096), len(p.src)/40+8))
	}
	start := len(p.marena)
	p.marena = append(p.marena, ms...)
	clear(ms)
	p.mscratch = p.mscratch[:mark]
	return p.marena[start:len(p.marena):len(p.marena)]
}

// takeItems moves the elements iscratch[mark:] into a slice of their own.
func (p *parser) takeItems(mark int) []*Node {
	its := p.iscratch[mark:]
	if len(its) == 0 {
		return nil
	}
	if cap(p.iarena)-len(p.iarena) < len(its) {
		p.iarena = make([]*Node, 0, max(len(its), min(2*cap(p.iarena), 4096), len(p.src)/40+8))
	}
	start := len(p.iarena)
	p.iarena = append(p.iarena, its...)
	clear(its)
	p.iscratch = p.iscratch[:mark]
	return p.iarena[start:len(p.iarena):len(p.iarena)]
}

// assignPointers sets the Pointer of every node under root, which starts at
// offset off. All pointers are slices of one string, built in pre-order
// with a single allocation. It reports E-JSON and returns false when they
// would exceed maxPointerBytes.
func (p *parser) assignPointers(root *Node, off int) bool {
	if p.ptrBytes > maxPointerBytes {
		p.fail(off, fmt.Sprintf("the document is too large to index: its JSON pointers would take more than %d MiB (long keys above many values); shorten the keys", maxPointerBytes>>20))
		return false
	}
	var b strings.Builder
	b.Grow(p.ptrBytes)
	b.WriteString(p.prefix)
	root.Pointer = b.String()
	setPointers(root, &b)
	return true
}

// setPointers sets the pointers of n's descendants, n's own being set. Each
// is written to b and sliced from b.String(): a Builder only ever appends,
// so earlier slices stay valid, and b has its final capacity, so they all
// share one allocation.
func setPointers(n *Node, b *strings.Builder) {
	var num [20]byte
	for i, it := range n.Items {
		start := b.Len()
		b.WriteString(n.Pointer)
		b.WriteByte('/')
		b.Write(strconv.AppendInt(num[:0], int64(i), 10))
		it.Pointer = b.String()[start:]
		setPointers(it, b)
	}
	for _, m := range n.Members {
		start := b.Len()
		b.WriteString(n.Pointer)
		b.WriteByte('/')
		writeEscaped(b, m.Key)
		m.Value.Pointer = b.String()[start:]
		setPointers(m.Value, b)
	}
}

func decimalLen(i int) int {
	n := 1
	for i >= 10 {
		i /= 10
		n++
	}
	return n
}
