package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOptionsAsteriskIsDecided sends "OPTIONS * HTTP/1.1" over a raw connection (no Go
// client sends it): the request must reach the handler, be denied (it is no IMS API), be
// logged and never be forwarded; net/http's built-in answer would do none of that.
func TestOptionsAsteriskIsDecided(t *testing.T) {
	e := newEnv(t, baseConfig, nil)
	conn, err := net.Dial("tcp", e.srv.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "OPTIONS * HTTP/1.1\r\nHost: imsguard.test\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()

	assert.Equal(t, http.StatusForbidden, resp.StatusCode, string(body))
	assert.Contains(t, string(body), `"error_code":"IMSGUARD.0403"`)
	id := resp.Header.Get(HeaderDecisionID)
	require.NotEmpty(t, id, "answered by the proxy's handler")
	line := e.lastDecision(t)
	assert.Equal(t, id, line["decision_id"])
	assert.Equal(t, "OPTIONS", line["method"])
	assert.Equal(t, "Deny", line["decision"])
	assert.Equal(t, reasonNoAPI, line["reason"])
	assert.Equal(t, false, line["forwarded"])
	assert.EqualValues(t, 403, line["status"])
	assert.Empty(t, e.ims.Requests(), "nothing reached IMS")
}
