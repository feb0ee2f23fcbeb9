// One error type for the whole product: a stable code, a short message, and a "Try …" hint for the user.
// `retryable` tells services whether a retry can help (transient) or not (bad input, invariant broken).
export class VerdictError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly retryable = false,
  ) {
    super(hint ? `${message}\n  Try: ${hint}` : message);
    this.name = "VerdictError";
  }
}
