// Package hostcheck holds the one test of a host's locality that the
// library (plain http allowed to loopback token URLs) and the command line
// (plain http allowed to loopback service URLs) share.
package hostcheck

import "net"

// IsLoopback reports whether host, a URL's Hostname(), is "localhost" or a
// loopback IP address (127.0.0.0/8, ::1). An empty or unparsable host is
// not.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
