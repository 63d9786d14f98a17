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
// X-Forwarded-For from any other peer is ignored. The address is returned as
// netip.Addr.String writes it (taken from the request without a copy when it was sent that
// way).
func sourceIP(r *http.Request, trusted []netip.Prefix) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return "", errors.New("peer address cannot be parsed")
	}
	peer = peer.Unmap().WithZone("")
	if !isTrusted(peer, trusted) {
		return addrText(peer, host), nil
	}
	hops := r.Header.Values("X-Forwarded-For")
	if len(hops) == 0 {
		return addrText(peer, host), nil
	}
	// The entries of every X-Forwarded-For line, in order, walked from the right.
	addr, text := peer, host
	for h := len(hops) - 1; h >= 0; h-- {
		line := hops[h]
		for {
			entry := line
			i := strings.LastIndexByte(line, ',')
			if i >= 0 {
				entry, line = line[i+1:], line[:i]
			}
			text = strings.TrimSpace(entry)
			a, err := netip.ParseAddr(text)
			if err != nil {
				return "", errBadForwardedFor
			}
			addr = a.Unmap().WithZone("")
			if !isTrusted(addr, trusted) {
				return addrText(addr, text), nil
			}
			if i < 0 {
				break
			}
		}
	}
	return addrText(addr, text), nil
}

// addrText is a.String(): sent, when a was sent written that way, without a copy.
func addrText(a netip.Addr, sent string) string {
	var buf [64]byte
	if string(a.AppendTo(buf[:0])) == sent {
		return sent
	}
	return a.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
