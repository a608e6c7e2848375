// Workers-only glue for functions/worker.ts: configuration from the bindings, Web Crypto, gzip
// through CompressionStream, the Cache API + KV feed cache, and the fetch handler that keeps one
// app per isolate and hands Hono the ExecutionContext (so cache writes go to ctx.waitUntil).
// Nothing here imports a Node module: the bundle must run in workerd without nodejs_compat.

import type { D1Database, KVNamespace } from "@cloudflare/workers-types";
import type { Context, ExecutionContext, Hono } from "hono";
import { chooseEncoding } from "../core/caching.ts";
import type { AppConfig, AppDeps, Compressor } from "../http/deps.ts";
import { problemResponse } from "../http/problem.ts";
import { createEdgeFeedCache } from "../store/cache/edge.ts";
import { createMemoryFragmentCache } from "../store/cache/fragments.ts";
import { createKvFeedCache } from "../store/cache/kv.ts";
import type { FeedCache } from "../store/cache/port.ts";
import { createTieredFeedCache } from "../store/cache/tiered.ts";
import type { Store } from "../store/port.ts";
import { baseUrlSetting, integerSetting } from "./settings.ts";
import { createAttemptNotifier } from "./websub.ts";

/** The bindings and variables of wrangler.toml. */
export interface WorkerEnv {
  /** Sites, articles, index rows, tombstones and webhook replay records. */
  DB: D1Database;
  /** Rendered feed bodies, by version (never the source of a version). */
  FEEDS: KVNamespace;
  /** Secret (`wrangler secret put NASHIR_ADMIN_TOKEN`), or `--var` in local development. */
  NASHIR_ADMIN_TOKEN?: string;
  /** The public origin of every self link; required, since it is never taken from the Host header. */
  NASHIR_BASE_URL?: string;
  NASHIR_SECRET_GRACE_SECONDS?: string;
}

/** A setting that is missing or malformed: the Worker answers 500 and says which one. */
export class WorkerConfigError extends Error {
  override readonly name = "WorkerConfigError";
}

export function readWorkerConfig(env: WorkerEnv): AppConfig {
  const adminToken = env.NASHIR_ADMIN_TOKEN ?? "";
  if (adminToken.length < 16) {
    throw new WorkerConfigError("NASHIR_ADMIN_TOKEN is not set (or shorter than 16 characters): set it with `wrangler secret put NASHIR_ADMIN_TOKEN`.");
  }
  const baseUrl = baseUrlSetting(env.NASHIR_BASE_URL ?? "", (message) => new WorkerConfigError(message));
  const settings = { NASHIR_SECRET_GRACE_SECONDS: env.NASHIR_SECRET_GRACE_SECONDS };
  const secretGraceSeconds = integerSetting(settings, "NASHIR_SECRET_GRACE_SECONDS", 86_400, 0, 365 * 86_400, (message) => new WorkerConfigError(message));
  return { baseUrl, adminToken, secretGraceSeconds };
}

/**
 * gzip only: workerd's CompressionStream has no brotli (that needs node:zlib, i.e. nodejs_compat).
 * Clients that accept br but not gzip are served br by workerd itself (see sendEncoded).
 */
export const WORKER_CODINGS: AppDeps["codings"] = ["gzip"];

export const workerCompress: Compressor = async (data, coding) => {
  if (coding !== "gzip") throw new Error(`content coding ${coding} is not available on Workers`);
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
};

/** Cloudflare sets CF-Connecting-IP on every request that reaches a Worker. */
export function workerClientId(c: Context): string {
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

export function workerRandom(length: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(length));
}

/** One JSON line per event (Workers Logs / `wrangler tail`). */
export function workerLog(event: Record<string, unknown>): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), ...event }));
}

/** KV entries outlive the Cache API's: KV is the shared layer, the Cache API is per location. */
export const FEED_KV_TTL_SECONDS = 7 * 86_400;
export const FEED_EDGE_MAX_AGE_SECONDS = 86_400;

/**
 * The Cache API of this location first, then KV. Keys carry the site version read from D1, so
 * neither layer is ever purged: a write makes the app ask for new keys.
 */
export function workerFeedCache(env: WorkerEnv, log: AppDeps["log"]): FeedCache {
  const edge = (caches as CacheStorage & { readonly default: Cache }).default;
  return createTieredFeedCache(
    [createEdgeFeedCache(edge, { maxAgeSeconds: FEED_EDGE_MAX_AGE_SECONDS }), createKvFeedCache(env.FEEDS, { expirationTtl: FEED_KV_TTL_SECONDS })],
    { onError: (error, during) => log({ event: "cache.error", during, message: error instanceof Error ? error.message : String(error) }) },
  );
}

/** Everything createApp needs on Workers, around the given store. */
export function workerDeps(env: WorkerEnv, store: Store): AppDeps {
  return {
    store,
    clock: Date.now,
    config: readWorkerConfig(env),
    random: workerRandom,
    feedCache: workerFeedCache(env, workerLog),
    // Item fragments for rebuilds, per isolate: a Worker has 128 MB, so a small share of it.
    fragmentCache: createMemoryFragmentCache({ maxBytes: 16 * 1024 * 1024, maxEntries: 5_000 }),
    codings: WORKER_CODINGS,
    compress: workerCompress,
    clientId: workerClientId,
    log: workerLog,
    // WebSub pings run inside the request's waitUntil, at most three attempts per hub.
    hubs: createAttemptNotifier({ log: workerLog }),
  };
}

/** workerd's ResponseInit: `encodeBody: "manual"` says the body is already encoded. */
interface EncodedResponseInit extends ResponseInit {
  encodeBody: "manual";
}

/**
 * The app's answer as workerd should send it:
 * - a body the app encoded (gzip, cached that way) goes out as it is: by default workerd would
 *   compress a body again when Content-Encoding is set;
 * - a negotiated body (Vary: Accept-Encoding) that the app left as identity because the client
 *   accepts br but not gzip is marked br, and workerd compresses it while sending (workerd has
 *   brotli for responses, but not in CompressionStream). So br-only clients get br, as from Node.
 */
export function sendEncoded(request: Request, response: Response): Response {
  if (response.headers.has("content-encoding")) {
    const init: EncodedResponseInit = { status: response.status, statusText: response.statusText, headers: response.headers, encodeBody: "manual" };
    return new Response(response.body, init);
  }
  const negotiated = (response.headers.get("vary") ?? "").toLowerCase().includes("accept-encoding");
  if (response.status !== 200 || response.body === null || !negotiated) return response;
  if (chooseEncoding(request.headers.get("accept-encoding") ?? undefined, ["br"]) !== "br") return response;
  const headers = new Headers(response.headers);
  headers.set("content-encoding", "br");
  headers.delete("content-length");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** The part of workerd's `request.cf` read here. */
interface IncomingCf {
  /** The client's own Accept-Encoding, kept when Cloudflare replaced the header ("" when there was none). */
  clientAcceptEncoding?: string;
}

/**
 * Cloudflare hands every Worker `Accept-Encoding: br, gzip`, whatever the client sent, and keeps
 * the client's header in `request.cf.clientAcceptEncoding`. The app negotiates on the client's
 * header: so a client that accepts only identity gets identity bytes (Cloudflare does not decode
 * application/atom+xml or application/feed+json for it), and one that accepts gzip gets the cached
 * gzip bytes, passed through untouched.
 */
export function withClientAcceptEncoding(request: Request): Request {
  const original = (request as Request & { cf?: IncomingCf }).cf?.clientAcceptEncoding;
  if (original === undefined || (request.method !== "GET" && request.method !== "HEAD")) return request;
  if ((request.headers.get("accept-encoding") ?? "") === original) return request;
  const headers = new Headers(request.headers);
  if (original === "") headers.delete("accept-encoding");
  else headers.set("accept-encoding", original);
  return new Request(request, { headers });
}

export interface WorkerHandler {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response>;
}

/**
 * The module's default export. The app is built once per isolate (and again only if the runtime
 * hands over another env), so the failure limiter and stale-if-error memory live as long as the
 * isolate. A configuration error answers 500 with the setting to fix, and is logged.
 */
export function serveWorker(build: (env: WorkerEnv) => Hono): WorkerHandler {
  let built: { env: WorkerEnv; app: Hono } | undefined;
  return {
    async fetch(request, env, ctx) {
      let app: Hono;
      try {
        if (built?.env !== env) built = { env, app: build(env) };
        app = built.app;
      } catch (error) {
        if (!(error instanceof WorkerConfigError)) throw error;
        workerLog({ event: "config.error", message: error.message });
        return problemResponse(500, `The Worker is not configured: ${error.message}`);
      }
      const negotiable = withClientAcceptEncoding(request);
      return sendEncoded(negotiable, await app.fetch(negotiable, env, ctx));
    },
  };
}
