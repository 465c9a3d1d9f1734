// Package faulttest holds snapauth's reliability and security suite: tests
// that run the token sources and the signing transport through the failures
// production brings and the attacks a payments library must withstand.
//
// It is its own module, so that its heavy test-only dependencies (Toxiproxy,
// run in-process) stay out of snapauth's go.mod. It exports nothing; run it
// with
//
//	cd faulttest && go test -race ./...
//
// The provider outage lasts 3 s by default; set FAULT_OUTAGE (a Go duration,
// such as FAULT_OUTAGE=30s) to run it at full length.
package faulttest
