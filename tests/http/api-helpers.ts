// Helpers shared by the admin/publisher HTTP tests (sites, articles, webhooks). Every fixture is
// built fresh by a factory, so no test can change another's input.

import { expect } from "vitest";
import { signWebhook } from "../../src/core/auth.ts";
import { ADMIN_TOKEN, type Harness, problemOf } from "./harness.ts";

export type Json = Record<string, unknown>;

export interface FieldProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}

/** A minimal valid article for the seed site (nisan, Asia/Amman, ar). */
export function newArticle(overrides: Json = {}): Json {
  return {
    id: "a-1",
    title: "Plain title",
    url: "https://nisan.example/ar/news/a-1",
    published_at: "2024-06-19T11:49:00Z",
    summary: "A summary.",
    ...overrides,
  };
}

/** The normalised answer for `newArticle()` with the same overrides already normalised. */
export function storedArticle(overrides: Json = {}): Json {
  return {
    id: "a-1",
    title: "Plain title",
    url: "https://nisan.example/ar/news/a-1",
    published_at: "2024-06-19T11:49:00Z",
    updated_at: "2024-06-19T11:49:00Z",
    summary: "A summary.",
    authors: [],
    categories: [],
    tags: [],
    attachments: [],
    language: "ar",
    ...overrides,
  };
}

/** A copy of `obj` without `key`. */
export function without(obj: Json, key: string): Json {
  const copy: Json = { ...obj };
  delete copy[key];
  return copy;
}

export async function jsonOf(res: Response): Promise<Json> {
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) {
    throw new Error(`expected application/json, got ${type} (${res.status}): ${await res.text()}`);
  }
  return (await res.json()) as Json;
}

/**
 * Asserts an RFC 9457 problem with this status: problem+json, `type`, `title`, `status`
 * (equal to the HTTP status) and a non-empty `detail`, and no stack trace.
 */
export async function expectProblem(res: Response, status: number): Promise<FieldProblem> {
  const text = await res.clone().text();
  expect(res.status, text).toBe(status);
  const problem = (await problemOf(res)) as FieldProblem;
  expect(typeof problem.type).toBe("string");
  expect(problem.type.length).toBeGreaterThan(0);
  expect(typeof problem.title).toBe("string");
  expect(problem.title.length).toBeGreaterThan(0);
  expect(problem.status).toBe(status);
  expect(typeof problem.detail).toBe("string");
  expect(problem.detail.length).toBeGreaterThan(0);
  expect(text).not.toMatch(/\bat [^\n]+\.(ts|js):\d+/);
  if (problem.errors !== undefined) {
    for (const e of problem.errors) {
      expect(typeof e.field).toBe("string");
      expect(typeof e.message).toBe("string");
      expect(e.message.length).toBeGreaterThan(0);
    }
  }
  return problem;
}

/** Asserts a 422 whose `errors` name `field` (a JSON Pointer). */
export async function expectInvalid(res: Response, field: string | readonly string[]): Promise<FieldProblem> {
  const problem = await expectProblem(res, 422);
  const fields = (problem.errors ?? []).map((e) => e.field);
  const wanted = typeof field === "string" ? [field] : field;
  expect(fields.some((f) => wanted.includes(f)), `errors ${JSON.stringify(problem.errors)} should name ${wanted.join(" or ")}`).toBe(true);
  for (const f of fields) {
    if (f !== "") expect(f).toMatch(/^\//);
  }
  return problem;
}

/**
 * Records the status of every response the app gives (whichever helper sent it), so a test
 * file can assert that nothing answered 5xx.
 */
export function recordStatuses(h: Harness): { statuses: number[]; serverErrors: () => string[] } {
  const statuses: number[] = [];
  const paths: string[] = [];
  const original = h.app.request.bind(h.app);
  const wrapped = (...args: Parameters<Harness["app"]["request"]>): Promise<Response> =>
    Promise.resolve(original(...args)).then((res) => {
      statuses.push(res.status);
      paths.push(`${res.status} ${String(args[0])}`);
      return res;
    });
  h.app.request = wrapped as Harness["app"]["request"];
  return { statuses, serverErrors: () => paths.filter((_, i) => (statuses[i] ?? 0) >= 500) };
}

export function bearer(token: string, json = true): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...(json ? { "content-type": "application/json" } : {}) };
}

/** Sends a JSON body (or raw text/bytes) with an API key. */
export function withKey(
  h: Harness,
  method: string,
  path: string,
  apiKey: string,
  body?: unknown,
  options: { raw?: string | Uint8Array; contentType?: string | null; client?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
  const hasBody = body !== undefined || options.raw !== undefined;
  const contentType = options.contentType === undefined ? "application/json" : options.contentType;
  if (hasBody && contentType !== null) headers["content-type"] = contentType;
  const payload = options.raw !== undefined ? options.raw : body === undefined ? undefined : JSON.stringify(body);
  const init: RequestInit & { client?: string } = { method, headers };
  if (payload !== undefined) init.body = payload as BodyInit;
  if (options.client !== undefined) init.client = options.client;
  return h.request(path, init);
}

/** An admin request from a given client (the harness's `admin` has no client option). */
export function adminAs(h: Harness, client: string, method: string, path: string, token = ADMIN_TOKEN, body?: unknown): Promise<Response> {
  const init: RequestInit & { client?: string } = {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    client,
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  return h.request(path, init);
}

export type WebhookHeader = "webhook-id" | "webhook-timestamp" | "webhook-signature";

export interface SignedInit {
  secret: string;
  /** JSON text or raw bytes; "" for none. */
  body: string | Uint8Array;
  id?: string;
  /** Unix seconds; defaults to the harness clock. */
  timestamp?: number | string;
  method?: string;
  /** Rewrites the (valid) signature header before sending. */
  signature?: (valid: string) => string;
  omit?: readonly WebhookHeader[];
  client?: string;
  /** Sign this body but send `body`. */
  signedBody?: string;
}

let webhookCounter = 0;
export function newWebhookId(): string {
  webhookCounter += 1;
  return `msg_test_${webhookCounter}_${Math.random().toString(36).slice(2, 10)}`;
}

/** A Standard Webhooks request, with every header under the test's control. */
export async function sendSigned(h: Harness, path: string, init: SignedInit): Promise<Response> {
  const encoder = new TextEncoder();
  const id = init.id ?? newWebhookId();
  const timestamp = String(init.timestamp ?? Math.floor(h.now() / 1000));
  const bodyBytes = typeof init.body === "string" ? encoder.encode(init.body) : init.body;
  const toSign = init.signedBody !== undefined ? encoder.encode(init.signedBody) : bodyBytes;
  const valid = await signWebhook(init.secret, id, timestamp, toSign);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": init.signature ? init.signature(valid) : valid,
  };
  for (const name of init.omit ?? []) delete headers[name];
  const method = init.method ?? "POST";
  const requestInit: RequestInit & { client?: string } = { method, headers };
  if (bodyBytes.length > 0) requestInit.body = bodyBytes as BodyInit;
  if (init.client !== undefined) requestInit.client = init.client;
  return h.request(path, requestInit);
}

/** All article ids of a site, walking every page of the publisher list. */
export async function listIds(h: Harness, slug: string, apiKey: string, limit = 100): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined;
  for (let guard = 0; guard < 1_000; guard++) {
    const query = `?limit=${limit}${next === undefined ? "" : `&before=${encodeURIComponent(next)}`}`;
    const res = await withKey(h, "GET", `/v1/sites/${slug}/articles${query}`, apiKey);
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    for (const item of body.items as Json[]) ids.push(item.id as string);
    if (typeof body.next !== "string") return ids;
    next = body.next;
  }
  throw new Error("the list never ended");
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
