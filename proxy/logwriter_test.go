package proxy

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBufferedLog(t *testing.T) {
	out := &syncBuffer{}
	b := newBufferedLog(out, sinkOptions{})
	const writers, lines = 8, 3000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				_, _ = fmt.Fprintf(b, "w%d line %05d %s\n", w, i, strings.Repeat("x", 100))
			}
		})
	}
	wg.Wait()
	// Without Close, the lines still appear within the flush interval.
	require.Eventually(t, func() bool { return strings.Count(out.String(), "\n") == writers*lines }, 5*time.Second, 10*time.Millisecond)
	_, _ = b.Write([]byte("last\n"))
	require.NoError(t, b.Close())
	_, _ = b.Write([]byte("after close\n"))
	require.NoError(t, b.Close())

	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, got, writers*lines+1)
	assert.Equal(t, "last", got[len(got)-1])
	next := make([]int, writers)
	for _, l := range got[:len(got)-1] {
		var w, i int
		_, err := fmt.Sscanf(l, "w%d line %d", &w, &i)
		require.NoError(t, err, l)
		require.Equal(t, next[w], i, "lines of one writer stay in order")
		next[w]++
	}
}
