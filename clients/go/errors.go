package mnemo

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call: the gRPC status code and the server's message. Every error
// returned by the client's stubs is an *Error (or wraps a context error).
//
//	if errors.Is(err, mnemo.ErrNotFound) { ... }
//	var e *mnemo.Error; if errors.As(err, &e) { e.Code ... }
//
// It also works with status.FromError and status.Code, through GRPCStatus.
type Error struct {
	Code    codes.Code
	Message string
	status  *status.Status
}

func (e *Error) Error() string { return fmt.Sprintf("mnemo: %s: %s", e.Code, e.Message) }

// GRPCStatus returns the full gRPC status (with details, if any).
func (e *Error) GRPCStatus() *status.Status { return e.status }

// Is matches the sentinel errors below by code.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) && t.status == nil {
		return t.Code == e.Code
	}
	return false
}

// Sentinels for errors.Is.
var (
	ErrNotFound           = &Error{Code: codes.NotFound}
	ErrInvalidArgument    = &Error{Code: codes.InvalidArgument}
	ErrAlreadyExists      = &Error{Code: codes.AlreadyExists}
	ErrFailedPrecondition = &Error{Code: codes.FailedPrecondition}
	ErrUnauthenticated    = &Error{Code: codes.Unauthenticated}
	ErrPermissionDenied   = &Error{Code: codes.PermissionDenied}
	ErrUnavailable        = &Error{Code: codes.Unavailable}
	ErrDeadlineExceeded   = &Error{Code: codes.DeadlineExceeded}
	ErrResourceExhausted  = &Error{Code: codes.ResourceExhausted}
	ErrInternal           = &Error{Code: codes.Internal}
	ErrUnimplemented      = &Error{Code: codes.Unimplemented}
)

// wrapError turns a gRPC error into an *Error; nil and io.EOF (end of stream) pass through.
func wrapError(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	return &Error{Code: st.Code(), Message: st.Message(), status: st}
}
