// Node entry point (`npm start`): reads the environment, builds the deps, serves createApp.

import { composeApp } from "../src/http/app.ts";
import { nodeClientId, nodeCompress, nodeLog, nodeRandom, readNodeSettings, serveNode } from "../src/platform/node.ts";
import { createHubQueue } from "../src/platform/hub-queue.ts";
import { allocateBody, nodeDigests } from "../src/platform/node-runtime.ts";
import { createDynamoStoreFromEnv } from "../src/platform/dynamodb.ts";
import { createMemoryFeedCache } from "../src/store/cache/memory.ts";
import { createMemoryFragmentCache } from "../src/store/cache/fragments.ts";
import { withTimeouts } from "../src/store/guarded.ts";
import { createSqliteStore } from "../src/store/sqlite.ts";
import { withTurnVersionReads } from "../src/store/turn-reads.ts";

const settings = readNodeSettings(process.env);
// Every store call has a deadline; stalls and engine errors answer 503 (src/store/guarded.ts).
const engine = settings.store === "dynamodb" ? createDynamoStoreFromEnv(process.env) : createSqliteStore({ path: settings.dbPath });
// Requests handled in the same event-loop turn share one site-version read (src/store/turn-reads.ts).
const store = withTurnVersionReads(withTimeouts(engine, { timeoutMs: 5_000 }), setImmediate);
const hubs = createHubQueue({ log: nodeLog });
const clock = Date.now;
const { app, hotFeeds } = composeApp({
  store,
  clock,
  config: settings.config,
  random: nodeRandom,
  feedCache: createMemoryFeedCache({ maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 }),
  // Item fragments for rebuilds (ARCHITECTURE.md, Caches): ~24 KB per Arabic article in all three formats.
  fragmentCache: createMemoryFragmentCache({ maxBytes: 64 * 1024 * 1024, maxEntries: 50_000 }),
  codings: ["br", "gzip"],
  compress: nodeCompress,
  allocate: allocateBody,
  digests: nodeDigests,
  siteVersionNow: (slug) => store.versionNow(slug),
  clientId: nodeClientId,
  log: nodeLog,
  hubs,
});
// On shutdown, waiting WebSub pings get one last attempt within 5 s; the rest are abandoned (and logged).
serveNode({ app, hotFeeds, clock }, store, settings, () => hubs.close(5_000));
