package explain

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiff(t *testing.T) {
	old := explainText(t, Options{}, `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "ims:images:delete"]}]}`)
	cur := explainText(t, Options{}, `{"Version": "1.1", "Statement": [{"Effect": "Allow", "Action": ["ims:images:list", "ims:images:get", "ims:images:share"]}]}`)
	d := Compare(old, cur)
	byName := map[string]Change{}
	for _, c := range d.Changes {
		byName[c.Kind+" "+c.Name] = c
	}
	share := byName["action ims:images:share"]
	assert.True(t, share.Widens)
	assert.Equal(t, StatusDenied, share.From)
	assert.Equal(t, StatusAllowed, share.To)
	del := byName["api glance_delete_image"]
	assert.False(t, del.Widens)
	assert.Equal(t, "6.1.5", del.Section)
	assert.Contains(t, byName, "api glance_add_member", "native sharing now works: get and share")
	assert.Equal(t, 9, d.Widened, "5.2.1-5.2.3, 6.3.1-6.3.5 and the share action")
	assert.Equal(t, 3, d.Narrowed, "6.1.5, 6.1.7 and the delete action")

	var buf bytes.Buffer
	require.NoError(t, d.WriteText(&buf))
	assert.Contains(t, buf.String(), "+ 5.2.2 POST /v1/cloudimages/members: Denied -> Allowed")
	assert.Contains(t, buf.String(), "- ims:images:delete: Allowed -> Denied")
	assert.Contains(t, buf.String(), "12 changes: 9 widen access, 3 narrow it.")

	same := Compare(old, old)
	assert.Empty(t, same.Changes)
	buf.Reset()
	require.NoError(t, same.WriteText(&buf))
	assert.Contains(t, buf.String(), "No change")
}
