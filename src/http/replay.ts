// Safe retries: a webhook-id is applied once. The first successful answer is kept in the primary
// store (a conditional insert, never an eventually consistent cache) and replayed for the same body.

import type { Context } from "hono";
import { sha256Hex, type Digests } from "../core/auth.ts";
import { formatRfc3339 } from "../core/dates.ts";
import { StoreUnavailableError, type Store } from "../store/port.ts";
import { Problem } from "./problem.ts";

/** A handler's answer, in the form it is stored for replays. */
export interface Reply {
  status: number;
  /** JSON text, or "" for no body. */
  body: string;
}

/** Successful results are kept at least this long (the contract says 72 hours). */
export const REPLAY_KEEP_MS = 72 * 3_600_000;
/** A claim older than this belongs to a request that died; a retry may take it over. */
export const CLAIM_STALE_MS = 60_000;
const PRUNE_EVERY_MS = 3_600_000;

export function replyResponse(reply: Reply, extraHeaders: Record<string, string> = {}): Response {
  const headers: Record<string, string> = { "cache-control": "no-store", ...extraHeaders };
  if (reply.body !== "") headers["content-type"] = "application/json; charset=utf-8";
  return new Response(reply.body === "" ? null : reply.body, { status: reply.status, headers });
}

export interface Replayer {
  run(c: Context, slug: string, body: Uint8Array, handler: () => Promise<Reply>): Promise<Response>;
}

/** `digests`: the platform's faster SHA-256, when it has one (Web Crypto otherwise). */
export function createReplayer(store: Store, clock: () => number, digests?: Digests): Replayer {
  let lastPrune = 0;

  return {
    async run(c, slug, body, handler) {
      const webhookId = c.req.header("webhook-id");
      if (webhookId === undefined) return replyResponse(await handler());
      if (!/^[\x21-\x7E]{1,256}$/.test(webhookId)) {
        throw new Problem(400, { detail: "webhook-id must be 1 to 256 printable ASCII characters." });
      }
      // The route is part of what was sent: the same id on another route is another body.
      const route = new TextEncoder().encode(`${c.req.method} ${new URL(c.req.url).pathname}\n`);
      const signed = new Uint8Array(route.length + body.length);
      signed.set(route);
      signed.set(body, route.length);
      const fingerprint = digests ? await digests.sha256Hex(signed) : await sha256Hex(signed);
      const now = clock();
      const claim = await store.claimWebhook(slug, webhookId, fingerprint, formatRfc3339(now), CLAIM_STALE_MS);
      if (claim.state !== "claimed" && claim.body_hash !== fingerprint) {
        throw new Problem(422, {
          detail: "This webhook-id was already used with a different body.",
          errors: [{ field: "webhook-id", message: "was already used with a different body" }],
        });
      }
      if (claim.state === "in_flight") {
        throw new Problem(409, { detail: "A request with this webhook-id is still being processed; retry later.", headers: { "retry-after": "1" } });
      }
      if (claim.state === "done") return replyResponse(claim.response, { "webhook-replayed": "true" });

      let reply: Reply;
      try {
        reply = await handler();
      } catch (error) {
        await store.releaseWebhook(slug, webhookId).catch(() => undefined);
        throw error;
      }
      try {
        await store.completeWebhook(slug, webhookId, reply, formatRfc3339(clock()));
      } catch (error) {
        // The write is committed: answering 503 would report a failure for a request that wrote.
        // The claim stays in flight, so a retry gets 409 until it is stale, then re-applies the
        // same body (a no-op: same article, or an older updated_at that loses).
        if (!(error instanceof StoreUnavailableError)) throw error;
      }
      if (now - lastPrune > PRUNE_EVERY_MS) {
        lastPrune = now;
        await store.pruneWebhooks(formatRfc3339(now - REPLAY_KEEP_MS)).catch(() => undefined);
      }
      return replyResponse(reply);
    },
  };
}
