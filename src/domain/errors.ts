/**
 * Errors that cross a layer carry a stable code; the HTTP layer maps them to a status and a message. The message
 * here is English for logs, the CLI and the JSON APIs; pages show the catalogue's `errors.<key>` in the reader's
 * language, with `vars` filled in (the domain never translates: it names the message and its values).
 */
export interface MessageRef {
  /** the catalogue key under `errors.` when one code has several messages (default: the code) */
  key?: string;
  vars?: Record<string, string | number>;
}

export class DomainError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly httpStatus = 400,
    public readonly ref: MessageRef = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** the catalogue key of the message people read */
  get messageKey(): string {
    return `errors.${this.ref.key ?? this.code}`;
  }
}

export class ValidationError extends DomainError {
  constructor(code: string, message: string, ref: MessageRef = {}) {
    super(code, message, 400, ref);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, ref: MessageRef = {}) {
    super(code, message, 409, ref);
  }
}

export class NotFoundError extends DomainError {
  constructor(code: string, message: string, ref: MessageRef = {}) {
    super(code, message, 404, ref);
  }
}
