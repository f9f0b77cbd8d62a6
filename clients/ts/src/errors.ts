// Errors: every failed call rejects (or, for streams, throws while iterating) with a
// MnemoError. It is a ConnectError, so `code` is the gRPC status (Code.NotFound = 5, ...)
// and `rawMessage` is the server's message.
import { Code, ConnectError } from "@connectrpc/connect";

export { Code, ConnectError };

export class MnemoError extends ConnectError {
  // ConnectError answers `instanceof` by duck typing, so any ConnectError would pass as any
  // subclass; the subclasses here use the prototype chain. (`name` stays "ConnectError", so
  // a MnemoError still passes `instanceof ConnectError`.)
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  constructor(cause: ConnectError) {
    super(cause.rawMessage, cause.code, cause.metadata, undefined, cause);
    this.details = cause.details;
  }

  /** The gRPC status name, e.g. "NOT_FOUND". */
  get status(): string {
    return Code[this.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
  }
}

/** NOT_FOUND: the agent, block, tool, ... does not exist. */
export class NotFoundError extends MnemoError {}
/** INVALID_ARGUMENT / OUT_OF_RANGE: the request is malformed or a value is not allowed. */
export class InvalidArgumentError extends MnemoError {}
/** ALREADY_EXISTS. */
export class AlreadyExistsError extends MnemoError {}
/** UNAUTHENTICATED: no or wrong token. PERMISSION_DENIED is a MnemoError with that code. */
export class UnauthenticatedError extends MnemoError {}
/** UNAVAILABLE: the server cannot be reached. Reads are retried on it automatically. */
export class UnavailableError extends MnemoError {}
/** DEADLINE_EXCEEDED: the call did not finish within its timeout. */
export class DeadlineExceededError extends MnemoError {}

const BY_CODE: Partial<Record<Code, new (cause: ConnectError) => MnemoError>> = {
  [Code.NotFound]: NotFoundError,
  [Code.InvalidArgument]: InvalidArgumentError,
  [Code.OutOfRange]: InvalidArgumentError,
  [Code.AlreadyExists]: AlreadyExistsError,
  [Code.Unauthenticated]: UnauthenticatedError,
  [Code.Unavailable]: UnavailableError,
  [Code.DeadlineExceeded]: DeadlineExceededError,
};

/** The typed error for anything a call threw. */
export function toMnemoError(error: unknown): MnemoError {
  if (error instanceof MnemoError) {
    return error;
  }
  const connect = ConnectError.from(error);
  const ErrorClass = BY_CODE[connect.code] ?? MnemoError;
  return new ErrorClass(connect);
}
