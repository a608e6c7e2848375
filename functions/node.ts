// Node entry point: `npm start`. Reads the environment, builds the deps, serves createApp.

import { serve } from "@hono/node-server";
import { createApp } from "../src/http/app.ts";
import { nodeClientId, nodeCompress, nodeLog, nodeRandom, readNodeSettings } from "../src/platform/node.ts";
import { createMemoryFeedCache } from "../src/store/cache/memory.ts";
import { createSqliteStore } from "../src/store/sqlite.ts";

const settings = readNodeSettings(process.env);
if (settings.store !== "sqlite") throw new Error("NASHIR_STORE=dynamodb is not available in this build yet; use sqlite");
const store = createSqliteStore({ path: settings.dbPath });
const app = createApp({
  store,
  clock: Date.now,
  config: settings.config,
  random: nodeRandom,
  feedCache: createMemoryFeedCache({ maxBytes: 64 * 1024 * 1024, maxEntries: 10_000 }),
  codings: ["br", "gzip"],
  compress: nodeCompress,
  clientId: nodeClientId,
  log: nodeLog,
});

const server = serve({ fetch: app.fetch, port: settings.port, hostname: settings.host }, (info) => {
  nodeLog({ event: "listening", url: `http://${info.address}:${info.port}`, base_url: settings.config.baseUrl, db: settings.dbPath });
  if (settings.generatedToken) {
    // The one time a secret is printed: the operator needs it to create sites.
    process.stdout.write(`\nAdmin token (kept in ${settings.dbPath.replace(/[^/]*$/, "")}admin-token): ${settings.generatedToken}\n\n`);
  }
});

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  nodeLog({ event: "stopping", signal });
  // close() stops accepting and waits for in-flight requests; idle keep-alive sockets are closed.
  server.close(() => {
    void store.close().then(() => process.exit(0));
  });
  if ("closeIdleConnections" in server) server.closeIdleConnections();
  setTimeout(() => process.exit(1), 10_000).unref();
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
