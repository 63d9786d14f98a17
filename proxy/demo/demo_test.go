package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/actions"
)

func TestRun(t *testing.T) {
	cat, err := actions.Embedded()
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, Run(context.Background(), &out, Options{Catalog: cat}))
	text := out.String()
	assert.Equal(t, 3, strings.Count(text, "200 allowed"), text)
	assert.Equal(t, 5, strings.Count(text, "403 denied"), text)
	assert.Equal(t, 2, strings.Count(text, "401 denied"), text)
	assert.Contains(t, text, "ExplicitDeny: ims:images:delete not allowed")
	assert.Contains(t, text, "ims:dataImages:create not allowed")
	assert.Contains(t, text, "IMS received 3 of 10 requests")
	assert.NotContains(t, text, readerSK)
	assert.NotContains(t, text, buildSK)

	assert.Error(t, Run(context.Background(), &out, Options{}))
}
