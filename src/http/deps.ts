// What createApp needs from its platform. Entry points in functions/ build this; nothing else does.

import type { Context } from "hono";
import type { RandomBytes } from "../core/auth.ts";
import type { Store } from "../store/port.ts";
import type { FeedCache } from "../store/cache/port.ts";

export type Compressor = (data: Uint8Array, coding: "gzip" | "br") => Promise<Uint8Array>;

export interface AppConfig {
  /** Public origin for every self link and feed URL, without a trailing slash. */
  baseUrl: string;
  /** Bearer token for /v1/sites/* admin calls. */
  adminToken: string;
  /** How long a rotated-out credential stays valid. */
  secretGraceSeconds: number;
}

export interface AppDeps {
  store: Store;
  /** Epoch milliseconds. The only clock the app reads. */
  clock: () => number;
  config: AppConfig;
  random: RandomBytes;
  /** Rendered feed bodies by document key and site version. */
  feedCache: FeedCache;
  /** Content codings this platform can produce, best first ("br" only where the runtime has brotli). */
  codings: readonly ("br" | "gzip")[];
  compress: Compressor;
  /** Who is calling, for the authentication-failure limit (socket address, CF-Connecting-IP, …). */
  clientId: (c: Context) => string;
  /** Structured log sink; never given secrets. */
  log: (event: Record<string, unknown>) => void;
}
