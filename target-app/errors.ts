/** Errors the API turns into 4xx answers. Anything else is a 500, which bad input must never reach. */

export class HttpError extends Error {
  readonly statusCode: number;
  readonly error: string;
  constructor(statusCode: number, error: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.error = error;
  }
}

export class NotFoundError extends HttpError {
  constructor(what: 'user' | 'post', id: number) {
    super(404, 'Not Found', `${what} ${id} not found`);
  }
}

/** PostgreSQL refused a new connection because it has too many (53300): the server is saturated, not broken. */
export class OverloadedError extends HttpError {
  constructor(message: string) {
    super(503, 'Service Unavailable', message);
  }
}
