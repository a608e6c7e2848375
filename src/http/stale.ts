// Stale-if-error for feed GETs. When the store is unavailable, a feed that this app served a
// moment ago is answered again from the feed cache, with the headers it was served with (ETag,
// Last-Modified and Cache-Control unchanged, no Warning); without such a body the error stands
// (503 + Retry-After). Only StoreUnavailableError is covered: any other error is a bug and is not
// papered over.
//
// The app remembers, per document URL (the normalised self link, known before the store is read),
// where its last good body is cached: a bounded map of keys and headers, never of bodies. Only
// bodies that were actually cached are remembered, so junk names and empty filtered feeds leave no
// trace here either.

import type { Context } from "hono";
import { chooseEncoding, codedEtag, isNotModified } from "../core/caching.ts";
import { StoreUnavailableError } from "../store/port.ts";
import type { AppDeps } from "./deps.ts";

/** Documents remembered per app; the least recently served are forgotten first. */
export const STALE_DOCUMENTS = 1_000;

interface Served {
  /** The feed-cache key of the body without its coding: `${key}#${version}#`. */
  cacheKeyPrefix: string;
  /** The 200's headers without content-encoding and content-length. */
  headers: Record<string, string>;
}

export interface StaleIfError {
  /** Called by a fresh 200 whose body is in the feed cache under `${cacheKeyPrefix}{coding}`. */
  served(c: Context, cacheKeyPrefix: string, headers: Record<string, string>): void;
  /**
   * Runs `fresh`; if it fails with StoreUnavailableError, answers the last good body of
   * `document` (undefined: no stale answer possible) or rethrows.
   */
  run(c: Context, document: string | undefined, fresh: () => Promise<Response>): Promise<Response>;
  /** How many documents are remembered (for bounds checks). */
  size(): number;
}

export function createStaleIfError(
  deps: Pick<AppDeps, "feedCache" | "codings" | "compress" | "log">,
  max: number = STALE_DOCUMENTS,
): StaleIfError {
  const lastGood = new Map<string, Served>();
  const pending = new WeakMap<Context, Served>();

  const remember = (document: string, served: Served) => {
    lastGood.delete(document);
    lastGood.set(document, served);
    for (const oldest of lastGood.keys()) {
      if (lastGood.size <= max) break;
      lastGood.delete(oldest);
    }
  };

  const answer = async (c: Context, served: Served): Promise<Response | undefined> => {
    const headers = { ...served.headers };
    const etag = headers["etag"] ?? "";
    const lastModified = Date.parse(headers["last-modified"] ?? "");
    const coding = chooseEncoding(c.req.header("accept-encoding"), deps.codings);
    if (etag) headers["etag"] = codedEtag(etag, coding);
    if (isNotModified({ ifNoneMatch: c.req.header("if-none-match"), ifModifiedSince: c.req.header("if-modified-since") }, { etag, lastModified })) {
      delete headers["content-type"];
      return new Response(null, { status: 304, headers });
    }
    let body = (await deps.feedCache.get(`${served.cacheKeyPrefix}${coding}`))?.body;
    if (body === undefined && coding !== "identity") {
      const identity = await deps.feedCache.get(`${served.cacheKeyPrefix}identity`);
      if (identity !== undefined) body = await deps.compress(identity.body, coding);
    }
    if (body === undefined) return undefined;
    if (coding !== "identity") headers["content-encoding"] = coding;
    headers["content-length"] = String(body.byteLength);
    return new Response(body as Uint8Array<ArrayBuffer>, { status: 200, headers });
  };

  return {
    served(c, cacheKeyPrefix, headers) {
      const copy = { ...headers };
      delete copy["content-encoding"];
      delete copy["content-length"];
      pending.set(c, { cacheKeyPrefix, headers: copy });
    },

    async run(c, document, fresh) {
      let response: Response;
      try {
        response = await fresh();
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || document === undefined) throw error;
        const served = lastGood.get(document);
        let stale: Response | undefined;
        try {
          stale = served === undefined ? undefined : await answer(c, served);
        } catch {
          stale = undefined; // The cache failed too: the store's error is the one to answer.
        }
        if (stale === undefined) throw error;
        deps.log({ event: "feed.stale", document, status: stale.status, reason: error.message });
        return stale;
      }
      const served = pending.get(c);
      if (document !== undefined && served !== undefined && response.status === 200) remember(document, served);
      return response;
    },

    size: () => lastGood.size,
  };
}
