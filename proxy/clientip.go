package proxy

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// errBadForwardedFor: a trusted proxy sent an X-Forwarded-For that cannot be parsed.
var errBadForwardedFor = errors.New("X-Forwarded-For from a trusted proxy is malformed")

// sourceIP returns the address for g:SourceIp: the peer address, or — when the peer is a
// trusted proxy — the right-most X-Forwarded-For entry that is not itself a trusted proxy.
// X-Forwarded-For from any other peer is ignored.
func sourceIP(r *http.Request, trusted []netip.Prefix) (netip.Addr, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, errors.New("peer address cannot be parsed")
	}
	peer = peer.Unmap().WithZone("")
	if !isTrusted(peer, trusted) {
		return peer, nil
	}
	hops := r.Header.Values("X-Forwarded-For")
	if len(hops) == 0 {
		return peer, nil
	}
	list := strings.Split(strings.Join(hops, ","), ",")
	addr := peer
	for i := len(list) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(list[i]))
		if err != nil {
			return netip.Addr{}, errBadForwardedFor
		}
		addr = a.Unmap().WithZone("")
		if !isTrusted(addr, trusted) {
			return addr, nil
		}
	}
	return addr, nil
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
