// The baselines the feed server is measured against, each answering from memory:
//
//   plain         node:http: 304 when If-None-Match equals the ETag, else 200 with the body. Nothing
//                 else: no routing, no store, no framework. The reference of sections 2 and 3.
//   plain+sqlite  the same, after the point read a feed request makes (site version, node:sqlite).
//   hono          a one-route Hono app on @hono/node-server answering the same way (no store).
//   hono+sqlite   the same, after the point read.
//
// The last three only split the 304's cost into its parts (section 3); they serve nobody.
//
// Usage: node bench/plain-server.ts <port> <body file> <headers JSON file> [mode] [SQLite file]

import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const [port, bodyFile, headersFile, mode = "plain", dbPath] = process.argv.slice(2);
if (port === undefined || bodyFile === undefined || headersFile === undefined) throw new Error("usage: plain-server.ts <port> <body> <headers.json> [mode] [db]");
const body = readFileSync(bodyFile);
const headers = JSON.parse(readFileSync(headersFile, "utf8")) as Record<string, string>;
const etag = headers["etag"] ?? "";
const notModified: Record<string, string> = { ...headers };
delete notModified["content-length"];
delete notModified["content-type"];

const versionRead = (() => {
  if (!mode.endsWith("+sqlite")) return () => undefined;
  if (dbPath === undefined) throw new Error(`${mode} needs the SQLite file`);
  const db = new DatabaseSync(dbPath, { readOnly: true });
  const statement = db.prepare("SELECT version, modified_at FROM sites WHERE slug = ?");
  return (slug: string) => statement.all(slug);
})();

if (mode === "plain" || mode === "plain+sqlite") {
  const server = createServer((req, res) => {
    versionRead("nisan");
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, notModified);
      res.end();
      return;
    }
    res.writeHead(200, headers);
    res.end(body);
  });
  server.listen(Number(port), "127.0.0.1", () => process.stdout.write("listening\n"));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
} else if (mode === "hono" || mode === "hono+sqlite") {
  const app = new Hono();
  app.get("/:site/rss.xml", async (c) => {
    await Promise.resolve(versionRead(c.req.param("site")));
    if (c.req.header("if-none-match") === etag) return new Response(null, { status: 304, headers: { ...notModified } });
    return new Response(body, { status: 200, headers: { ...headers } });
  });
  app.get("/", () => new Response("ok"));
  const server = serve({ fetch: app.fetch, port: Number(port), hostname: "127.0.0.1" });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
} else {
  throw new Error(`unknown mode ${mode}`);
}
