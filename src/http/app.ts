// The one composition of the application. Every platform entry point calls createApp with its deps.

import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { registerArticleRoutes } from "./articles.ts";
import { createGuard } from "./auth.ts";
import type { AppDeps } from "./deps.ts";
import type { HotFeeds } from "./feed-memo.ts";
import { registerFeedRoutes } from "./feeds.ts";
import { registerPageRoutes } from "./pages.ts";
import { createFailureLimiter } from "./limiter.ts";
import { Problem, problemResponse } from "./problem.ts";
import { createReplayer } from "./replay.ts";
import { registerSiteRoutes } from "./sites.ts";
import { StoreUnavailableError } from "../store/port.ts";

export function createApp(deps: AppDeps): Hono {
  return composeApp(deps).app;
}

/**
 * The app and its hot-document memo: a server may answer a GET from `hotFeeds.answer` before
 * routing it (the Node server does, src/platform/node.ts); every such answer is the one the feed
 * routes would give, and anything else goes to `app`.
 */
export function composeApp(deps: AppDeps): { app: Hono; hotFeeds: HotFeeds } {
  const app = new Hono();
  const guard = createGuard(deps, deps.store, createFailureLimiter(), deps.digests);
  const replayer = createReplayer(deps.store, deps.clock, deps.digests);

  app.get("/healthz", async () => {
    try {
      await deps.store.ping();
      return Response.json({ status: "ok" }, { headers: { "cache-control": "no-store" } });
    } catch {
      return problemResponse(503, "The store does not answer.", undefined, { "retry-after": "5" });
    }
  });

  registerSiteRoutes(app, deps, guard);
  registerArticleRoutes(app, deps, guard, replayer);
  const hotFeeds = registerFeedRoutes(app, deps);
  registerPageRoutes(app, deps);

  app.notFound(() => problemResponse(404, "There is nothing at this address."));

  app.onError((error) => {
    if (error instanceof Problem) return error.getResponse();
    if (error instanceof StoreUnavailableError) {
      deps.log({ event: "store.unavailable", message: error.message });
      return problemResponse(503, "The store is unavailable; retry later.", undefined, { "retry-after": "5" });
    }
    if (error instanceof HTTPException) {
      return problemResponse(error.status, error.message || "The request cannot be served.");
    }
    // Never a stack trace to the client; the log gets the message only.
    deps.log({ event: "error", message: error instanceof Error ? error.message : String(error) });
    return problemResponse(500, "The server failed to answer this request.");
  });

  return { app, hotFeeds };
}
