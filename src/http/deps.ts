// What createApp needs from its platform. Entry points in functions/ build this; nothing else does.

import type { Allocate } from "../core/render/index.ts";
import type { Context } from "hono";
import type { Digests, RandomBytes } from "../core/auth.ts";
import type { SiteVersion, Store } from "../store/port.ts";
import type { FeedCache, FragmentCache } from "../store/cache/port.ts";

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
  /** Rendered item fragments feeds are assembled from on a rebuild; without it every item is rendered. */
  fragmentCache?: FragmentCache;
  /** Content codings this platform can produce, best first ("br" only where the runtime has brotli). */
  codings: readonly ("br" | "gzip")[];
  compress: Compressor;
  /**
   * Makes the buffer a rebuilt feed body is written into (every byte is then written). Default: a
   * zeroed Uint8Array; Node passes one that skips the zeroing (node-runtime.ts: allocateBody).
   */
  allocate?: Allocate;
  /**
   * A site version the store read a moment ago in this event-loop turn, if it has one (Node:
   * withTurnVersionReads' versionNow): lets a hot feed be answered without waiting a promise turn.
   */
  siteVersionNow?: (slug: string) => SiteVersion | null | undefined;
  /** SHA-256 and HMAC-SHA256 for signatures, key hashes and replay fingerprints; default Web Crypto. */
  digests?: Digests;
  /** Who is calling, for the authentication-failure limit (socket address, CF-Connecting-IP, …). */
  clientId: (c: Context) => string;
  /** Structured log sink; never given secrets. */
  log: (event: Record<string, unknown>) => void;
  /** WebSub: pings the site's hubs after an article changes. Without it, no hub is pinged. */
  hubs?: HubNotifier;
}

/** One change to announce (WebSub publish): every hub is told every URL. */
export interface HubPing {
  site: string;
  hubs: readonly string[];
  /** The changed feeds' URLs, exactly as their self links. */
  urls: readonly string[];
}

export interface HubNotifier {
  /**
   * Takes the ping after a successful write; never throws and never waits for a hub. A returned
   * promise is delivery still running for this request (Workers, Lambda): the app hands it to
   * `waitUntil` where the runtime has one. It never rejects.
   */
  notify(ping: HubPing): Promise<void> | undefined;
}
