// RFC 9457 problem details: the one error type of the HTTP layer, turned into a response in one place.

import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { FieldError } from "../core/fields.ts";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export interface ProblemInit {
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
}

export class Problem extends HTTPException {
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly extraHeaders: Record<string, string>;

  constructor(status: ContentfulStatusCode, init: ProblemInit) {
    super(status, { message: init.detail });
    this.detail = init.detail;
    this.errors = init.errors;
    this.extraHeaders = init.headers ?? {};
  }

  override getResponse(): Response {
    return problemResponse(this.status, this.detail, this.errors, this.extraHeaders);
  }
}

/** A request body or parameter that fails field rules (422 unless said otherwise). */
export function invalid(errors: FieldError[], status: ContentfulStatusCode = 422): Problem {
  const first = errors[0];
  const detail = first ? `${first.field || "body"} ${first.message}` : "The request is invalid.";
  return new Problem(status, { detail, errors });
}

export function problemResponse(status: number, detail: string, errors?: FieldError[], headers: Record<string, string> = {}): Response {
  const body: Record<string, unknown> = {
    // about:blank: the status code says it all; `errors` carries the field detail.
    type: "about:blank",
    title: TITLES[status] ?? "Error",
    status,
    detail,
  };
  if (errors && errors.length) body.errors = errors;
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store", ...headers },
  });
}
