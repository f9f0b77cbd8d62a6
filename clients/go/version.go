// Package mnemo is the Go client of Mnemo, the server for stateful agents: the generated
// gRPC stubs (package mnemov1 under gen/) with a thin layer for the token, timeouts,
// retries of reads, typed errors, stream iterators and pagination.
package mnemo

// Version is the contract version this client was generated from (the server's version).
const Version = "0.1.0"
