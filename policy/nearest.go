package policy

import (
	"strings"
	"unicode/utf8"
)

// Nearest returns the candidate closest to s by edit distance (compared in lower case)
// when it is close enough to be a plausible typo: at most a third of s's length, and at
// least 1..3 edits; "" otherwise. Strings longer than 160 bytes get no suggestion. Lint
// and eval use it for their did-you-mean hints (actions, operators, field names).
func Nearest(s string, candidates []string) string {
	if len(s) > 160 {
		return "" // no typo of a catalogued name is that long; keep the cost bounded
	}
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := levenshtein(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(3, utf8.RuneCountInString(s)/3) {
		return ""
	}
	return best
}

// levenshtein is the edit distance between a and b, in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
