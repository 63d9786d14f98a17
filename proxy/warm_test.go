package proxy

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/imsguard/imsguard/rego/authz"
)

// TestLoaderWarmsEngines: engines built by the loader share one compiled runtime and have
// their decision cache warmed for the configured project, so the first request after a
// load or reload is a cache hit.
func TestLoaderWarmsEngines(t *testing.T) {
	ctx := context.Background()
	rt, err := authz.Prepare(ctx)
	require.NoError(t, err)
	cat := testCatalog(t)
	l := &Loader{ConfigPath: "../testdata/proxy/sidecar.toml", Catalog: cat, LookupEnv: exampleEnv, Runtime: rt}
	s, err := l.Load(ctx)
	require.NoError(t, err)
	p := s.principals["image-builder"]
	require.NotNil(t, p)
	api, ok := cat.API("glance_list_images")
	require.True(t, ok)
	d, err := p.decider.Decide(ctx, authz.Input{Actions: api.Actions, API: api, Project: s.Config.Project})
	require.NoError(t, err)
	assert.True(t, d.Cached, "warmed at load")
	d, err = p.decider.Decide(ctx, authz.Input{Actions: api.Actions, API: api, Project: "elsewhere"})
	require.NoError(t, err)
	assert.False(t, d.Cached)
}
