// The Lambda handler driven with real API Gateway v2 (HTTP API / function URL) event objects, on a
// real DynamoDB-compatible server (dynalite). Next to it, the same app over SQLite (the http test
// harness) with the same clock and base URL: for the same data, the feeds are the same bytes.
// Also: the real functions/lambda.ts module, the esbuild bundle in a child process (no instance
// metadata call), template.yaml against the table the store uses, and the configuration rules.

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { handle, type APIGatewayProxyResult, type LambdaEvent } from "hono/aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildLambda, LAMBDA_HANDLER } from "../../scripts/build-lambda.ts";
import { signWebhook } from "../../src/core/auth.ts";
import { formatRfc3339 } from "../../src/core/dates.ts";
import { createApp } from "../../src/http/app.ts";
import { createDynamoStoreFromEnv, dynamoClientConfig, readDynamoSettings } from "../../src/platform/dynamodb.ts";
import { lambdaDeps, LambdaConfigError, readLambdaConfig, settleAfter } from "../../src/platform/lambda.ts";
import { TABLE_SCHEMA, TTL_ATTRIBUTE } from "../../src/store/dynamodb.ts";
import { withTimeouts } from "../../src/store/guarded.ts";
import type { Store } from "../../src/store/port.ts";
import { ADMIN_TOKEN, BASE_URL, createHarness, seedArticle, seedSite, type Harness } from "../http/harness.ts";
import { freshTable, localClient, startDynalite, type Dynalite } from "../store/dynalite.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const execFileAsync = promisify(execFile);
const FEEDS = ["rss.xml", "atom.xml", "feed.json"] as const;
const CONTENT_TYPES = {
  "rss.xml": "application/rss+xml; charset=utf-8",
  "atom.xml": "application/atom+xml; charset=utf-8",
  "feed.json": "application/feed+json; charset=utf-8",
} as const;
const CATEGORY = `/nisan/categories/${encodeURIComponent("سياسة")}`;

type Result = APIGatewayProxyResult;
type Handler = (event: LambdaEvent) => Promise<Result>;

interface EventInit {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body base64-encoded, as API Gateway does for binary payloads. */
  base64?: boolean;
  sourceIp?: string;
}

/** An API Gateway HTTP API (payload 2.0) / function URL event, as AWS sends it. */
function v2Event(method: string, target: string, init: EventInit = {}): LambdaEvent {
  const [rawPath = "/", rawQueryString = ""] = target.split(/\?(.*)/s, 2);
  const headers: Record<string, string> = { host: "abc123.lambda-url.us-east-1.on.aws", "user-agent": "nashir-test", "x-forwarded-proto": "https" };
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
  const bytes = init.body === undefined ? undefined : typeof init.body === "string" ? new TextEncoder().encode(init.body) : init.body;
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers,
    ...(rawQueryString ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      authentication: null,
      authorizer: {},
      domainName: "abc123.lambda-url.us-east-1.on.aws",
      domainPrefix: "abc123",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: init.sourceIp ?? "203.0.113.7", userAgent: "nashir-test" },
      requestId: randomBytes(8).toString("hex"),
      routeKey: "$default",
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: bytes === undefined ? null : init.base64 ? Buffer.from(bytes).toString("base64") : new TextDecoder().decode(bytes),
    isBase64Encoded: bytes !== undefined && init.base64 === true,
  };
}

function header(res: Result, name: string): string | undefined {
  const value = res.headers?.[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The response body's bytes, whatever way the handler sent them. */
function bodyBytes(res: Result): Buffer {
  return res.isBase64Encoded ? Buffer.from(res.body, "base64") : Buffer.from(res.body, "utf8");
}

async function signedHeaders(secret: string, body: string, timestampMs: number, id = `msg_${randomBytes(8).toString("hex")}`): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(timestampMs / 1000));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": await signWebhook(secret, id, timestamp, new TextEncoder().encode(body)),
  };
}

let server: Dynalite;
let table: string;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startDynalite();
  const client = localClient(server.endpoint);
  table = await freshTable(client);
  client.destroy();
  env = { NASHIR_BASE_URL: BASE_URL, NASHIR_ADMIN_TOKEN: ADMIN_TOKEN, NASHIR_DYNAMODB_ENDPOINT: server.endpoint, NASHIR_DYNAMODB_TABLE: table };
});

afterAll(async () => {
  await server.close();
});

describe("Lambda handler on DynamoDB, next to the same app on SQLite", () => {
  let reference: Harness;
  let store: Store;
  let handler: Handler;

  beforeEach(async () => {
    // The SQLite reference owns the clock; the Lambda app reads the same one.
    reference = await createHarness();
    store = createDynamoStoreFromEnv(env);
    const deps = lambdaDeps(env, withTimeouts(store, { timeoutMs: 5_000 }), { clock: () => reference.now(), log: () => undefined });
    handler = settleAfter(handle(createApp(deps)), deps.hubs);
  });

  afterEach(async () => {
    await handler(v2Event("DELETE", "/v1/sites/nisan", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }));
    await store.close();
    await reference.close();
  });

  async function adminCall(method: string, path: string, body?: unknown): Promise<Result> {
    return handler(
      v2Event(method, path, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  }

  async function createSiteBoth(): Promise<{ lambda: { webhook_secret: string; api_key: string; created_at: string }; ref: { webhook_secret: string; api_key: string } }> {
    const created = await adminCall("PUT", "/v1/sites/nisan", { ...seedSite(), slug: "nisan" });
    expect(created.statusCode, created.body).toBe(201);
    const lambda = JSON.parse(created.body) as { webhook_secret: string; api_key: string; created_at: string };
    const ref = await reference.createSite();
    return { lambda, ref };
  }

  it("answers /healthz from DynamoDB", async () => {
    const res = await handler(v2Event("GET", "/healthz"));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: "ok" });
  });

  it("creates a site, publishes the seed with a signature (body base64 too), serves three feeds, 304, gzip and br, deletes", async () => {
    const { lambda, ref } = await createSiteBoth();
    expect(lambda.created_at).toBe(formatRfc3339(reference.now()));
    const itemId = `tag:nisan.example,${lambda.created_at.slice(0, 10)}:nisan/${String(seedArticle().id)}`;

    // Publish: a Standard Webhooks signature, the body sent base64 as API Gateway sends binary.
    const body = JSON.stringify(seedArticle());
    const headers = { "content-type": "application/json", ...(await signedHeaders(lambda.webhook_secret, body, reference.now(), "msg_seed")) };
    const published = await handler(v2Event("POST", "/v1/sites/nisan/articles", { headers, body, base64: true }));
    expect(published.statusCode, published.body).toBe(201);
    expect(JSON.parse(published.body)).toMatchObject({ id: seedArticle().id, published_at: "2024-06-19T11:49:00Z" });
    // The same webhook-id and body again (plain text this time): replayed, applied once.
    const replayed = await handler(v2Event("POST", "/v1/sites/nisan/articles", { headers, body }));
    expect(replayed.statusCode).toBe(201);
    expect(header(replayed, "webhook-replayed")).toBe("true");
    expect(replayed.body).toBe(published.body);
    const refPublished = await reference.signed("/v1/sites/nisan/articles", ref.webhook_secret, body);
    expect(refPublished.status).toBe(201);

    for (const file of FEEDS) {
      for (const path of [`/nisan/${file}`, `${CATEGORY}/${file}`, `/nisan/${file}?limit=5`]) {
        const res = await handler(v2Event("GET", path));
        expect(res.statusCode, `${path}: ${res.body}`).toBe(200);
        expect(header(res, "content-type")).toBe(CONTENT_TYPES[file]);
        expect(res.isBase64Encoded).toBe(false);
        expect(res.body).toContain(itemId);
        // Same data, same clock, same base URL: the same bytes as over SQLite. (Not the same ETag:
        // a new site's version starts at a random number, so a recreated site never reuses tags.)
        const refRes = await reference.request(path);
        expect(refRes.status).toBe(200);
        expect(bodyBytes(res).equals(Buffer.from(await refRes.arrayBuffer())), `${path} differs from SQLite`).toBe(true);

        // Revalidation: 304, no body.
        const etag = header(res, "etag") ?? "";
        const notModified = await handler(v2Event("GET", path, { headers: { "if-none-match": etag } }));
        expect(notModified.statusCode).toBe(304);
        expect(notModified.body).toBe("");
        expect(header(notModified, "etag")).toBe(etag);

        // Compressed: the bytes go back base64 with isBase64Encoded, and decode to the same body.
        const gz = await handler(v2Event("GET", path, { headers: { "accept-encoding": "gzip" } }));
        expect(gz.statusCode).toBe(200);
        expect(header(gz, "content-encoding")).toBe("gzip");
        expect(header(gz, "vary")).toBe("Accept-Encoding");
        expect(gz.isBase64Encoded).toBe(true);
        expect(gunzipSync(bodyBytes(gz)).equals(bodyBytes(res))).toBe(true);
        const br = await handler(v2Event("GET", path, { headers: { "accept-encoding": "br, gzip" } }));
        expect(header(br, "content-encoding")).toBe("br");
        expect(br.isBase64Encoded).toBe(true);
        expect(brotliDecompressSync(bodyBytes(br)).equals(bodyBytes(res))).toBe(true);
      }
    }

    // HEAD answers the headers only.
    const head = await handler(v2Event("HEAD", "/nisan/feed.json"));
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe("");

    // Delete the article (signed, no body), on both: gone from every feed, still byte-identical.
    reference.advance(60_000);
    const del = await handler(
      v2Event("DELETE", `/v1/sites/nisan/articles/${String(seedArticle().id)}`, {
        headers: await signedHeaders(lambda.webhook_secret, "", reference.now()),
      }),
    );
    expect(del.statusCode, del.body).toBe(204);
    const refDel = await reference.signed(`/v1/sites/nisan/articles/${String(seedArticle().id)}`, ref.webhook_secret, "", { method: "DELETE" });
    expect(refDel.status).toBe(204);
    for (const file of FEEDS) {
      const res = await handler(v2Event("GET", `/nisan/${file}`));
      expect(res.statusCode).toBe(200);
      const refRes = await reference.request(`/nisan/${file}`);
      expect(bodyBytes(res).equals(Buffer.from(await refRes.arrayBuffer())), `${file} after the delete differs from SQLite`).toBe(true);
    }
    expect((await handler(v2Event("GET", `/v1/sites/nisan/articles/${String(seedArticle().id)}`, { headers: { authorization: `Bearer ${lambda.api_key}` } }))).statusCode).toBe(404);

    // Delete the site: its feeds are gone.
    expect((await adminCall("DELETE", "/v1/sites/nisan")).statusCode).toBe(204);
    expect((await handler(v2Event("GET", "/nisan/feed.json"))).statusCode).toBe(404);
    expect((await adminCall("GET", "/v1/sites/nisan")).statusCode).toBe(404);
  });

  it("keeps the same bytes as SQLite over many articles, pages and filters", async () => {
    const { lambda, ref } = await createSiteBoth();
    for (let i = 0; i < 30; i++) {
      const article = {
        ...seedArticle(),
        id: `a-${String(i).padStart(2, "0")}`,
        title: `خبر ${i}`,
        url: `https://nisan.example/ar/news/${i}`,
        published_at: new Date(Date.UTC(2024, 5, 19, 10, i % 7)).toISOString(),
        categories: [i % 3 === 0 ? "سياسة" : "رياضة"],
        tags: ["Tech", i % 2 === 0 ? "tech" : "TECH"],
      };
      const text = JSON.stringify(article);
      const res = await handler(
        v2Event("POST", "/v1/sites/nisan/articles", { headers: { authorization: `Bearer ${lambda.api_key}`, "content-type": "application/json" }, body: text }),
      );
      expect(res.statusCode, res.body).toBe(201);
      expect((await reference.publish("nisan", ref.api_key, article)).status).toBe(201);
    }
    const paths: string[] = [];
    for (const file of FEEDS) {
      paths.push(`/nisan/${file}?limit=7`, `${CATEGORY}/${file}?limit=4`, `/nisan/tags/tech/${file}`, `/nisan/tags/TECH/${file}`, `/nisan/authors/${encodeURIComponent("نيسان")}/${file}?limit=100`);
    }
    for (const first of paths) {
      // Follow `next` links to the end: every page the same on both.
      let path: string | undefined = first;
      for (let pages = 0; path && pages < 20; pages++) {
        const res = await handler(v2Event("GET", path));
        expect(res.statusCode, path).toBe(200);
        const refRes = await reference.request(path);
        const refBody = Buffer.from(await refRes.arrayBuffer());
        expect(bodyBytes(res).toString("utf8"), path).toBe(refBody.toString("utf8"));
        const next = /"next_url":\s*"([^"]+)"|<link[^>]*rel="next"[^>]*href="([^"]+)"|<atom:link[^>]*rel="next"[^>]*href="([^"]+)"/.exec(res.body);
        const url = next?.[1] ?? next?.[2] ?? next?.[3];
        path = url ? url.replace(BASE_URL, "").replace(/&amp;/g, "&") : undefined;
      }
    }
  });

  it("takes the client address from the event's sourceIp for the failure limit", async () => {
    await createSiteBoth();
    const attempt = (ip: string) =>
      handler(
        v2Event("POST", "/v1/sites/nisan/articles", {
          headers: { authorization: "Bearer nisan_wrong-key-wrong-key-wrong-key", "content-type": "application/json" },
          body: "{}",
          sourceIp: ip,
        }),
      );
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await attempt("198.51.100.1")).statusCode);
    expect(statuses.slice(0, 10).every((s) => s === 401 || s === 403)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Another address is not limited.
    expect([401, 403]).toContain((await attempt("198.51.100.2")).statusCode);
  });

  it("answers 503 with Retry-After when DynamoDB does not answer", async () => {
    const deadEnv = { ...env, NASHIR_DYNAMODB_ENDPOINT: "http://127.0.0.1:9" };
    const dead = createDynamoStoreFromEnv(deadEnv);
    const deps = lambdaDeps(deadEnv, withTimeouts(dead, { timeoutMs: 5_000 }), { clock: () => reference.now(), log: () => undefined });
    const deadHandler = settleAfter(handle(createApp(deps)), deps.hubs);
    for (const path of ["/healthz", "/nisan/feed.json"]) {
      const res = await deadHandler(v2Event("GET", path));
      expect(res.statusCode, path).toBe(503);
      expect(header(res, "retry-after")).toBeDefined();
      expect(header(res, "content-type")).toMatch(/^application\/problem\+json/);
    }
    await dead.close();
  });
});

describe("functions/lambda.ts (the module deployed)", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it("builds its deps from process.env and serves the app", async () => {
    Object.assign(process.env, env);
    const mod = (await import("../../functions/lambda.ts")) as { handler: Handler };
    expect((await mod.handler(v2Event("GET", "/healthz"))).statusCode).toBe(200);
    const created = await mod.handler(
      v2Event("PUT", "/v1/sites/entry", {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ ...seedSite(), slug: "entry" }),
      }),
    );
    expect(created.statusCode, created.body).toBe(201);
    const feed = await mod.handler(v2Event("GET", "/entry/rss.xml"));
    expect(feed.statusCode).toBe(200);
    expect(feed.body).toContain(`${BASE_URL}/entry/rss.xml`);
    expect((await mod.handler(v2Event("DELETE", "/v1/sites/entry", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }))).statusCode).toBe(204);
  });
});

describe("the esbuild bundle (npm run build:lambda)", () => {
  let dir: string;
  let imds: Server;
  let imdsHits = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nashir-lambda-"));
    imds = createServer((req, res) => {
      imdsHits += 1;
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => imds.listen(0, "127.0.0.1", () => resolve()));
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => imds.close(() => resolve()));
  });

  it("runs in a plain Node process with only the Nashir settings, and never calls the metadata address", async () => {
    const hitsBefore = imdsHits;
    const built = await buildLambda(join(dir, "lambda"));
    expect(built.outfile.endsWith(`${LAMBDA_HANDLER.split(".")[0]}.mjs`)).toBe(true);
    // The bundle takes no code from node_modules at run time.
    const script = join(dir, "invoke.mjs");
    writeFileSync(
      script,
      `const { handler } = await import(${JSON.stringify(built.outfile)});
const events = JSON.parse(process.argv[2]);
const out = [];
for (const e of events) out.push(await handler(e));
// stdout carries the app's log lines; the answers go to a file. The SDK keeps its sockets open for
// the next invocation, as a warm Lambda would, so the process is ended here.
(await import("node:fs")).writeFileSync(process.argv[3], JSON.stringify(out));
process.exit(0);`,
    );
    const events = [
      v2Event("GET", "/healthz"),
      v2Event("PUT", "/v1/sites/bundled", {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ ...seedSite(), slug: "bundled" }),
      }),
      v2Event("GET", "/bundled/atom.xml", { headers: { "accept-encoding": "gzip" } }),
      v2Event("DELETE", "/v1/sites/bundled", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
    ];
    // No AWS settings at all; the metadata endpoint points at a listener that counts calls.
    const childEnv: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: dir, ...env, AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${(imds.address() as AddressInfo).port}` };
    const answers = join(dir, "answers.json");
    // Not spawnSync: dynalite runs in this process and must keep answering.
    const run = await execFileAsync(process.execPath, [script, JSON.stringify(events), answers], { cwd: dir, env: childEnv, encoding: "utf8", timeout: 30_000 });
    expect(run.stdout).toContain('"event":"site.created"');
    const results = JSON.parse(readFileSync(answers, "utf8")) as Result[];
    expect(results.map((r) => r.statusCode)).toEqual([200, 201, 200, 204]);
    const atom = results[2]!;
    expect(atom.isBase64Encoded).toBe(true);
    expect(gunzipSync(Buffer.from(atom.body, "base64")).toString("utf8")).toContain(`<link rel="self" type="application/atom+xml" href="${BASE_URL}/bundled/atom.xml"/>`);
    expect(imdsHits - hitsBefore).toBe(0);
    console.log(`Lambda bundle: ${(built.bytes / 1024).toFixed(1)} KiB, gzip ${(built.gzipBytes / 1024).toFixed(1)} KiB`);
  }, 60_000);

  it("(control) a client left to the SDK's credential chain does call the metadata address", async () => {
    const before = { ...process.env };
    try {
      for (const key of Object.keys(process.env)) if (key.startsWith("AWS_")) delete process.env[key];
      process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = `http://127.0.0.1:${(imds.address() as AddressInfo).port}`;
      process.env.AWS_CONFIG_FILE = join(dir, "none");
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "none");
      const client = new DynamoDBClient({ endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1 });
      await expect(client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "x" }, sk: { S: "x" } } }))).rejects.toThrow();
      client.destroy();
      expect(imdsHits).toBeGreaterThan(0);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in before)) delete process.env[key];
      Object.assign(process.env, before);
    }
  });
});

describe("configuration", () => {
  it("requires NASHIR_BASE_URL and NASHIR_ADMIN_TOKEN", () => {
    expect(readLambdaConfig({ NASHIR_BASE_URL: "https://feeds.example/", NASHIR_ADMIN_TOKEN: "x".repeat(16) })).toEqual({
      baseUrl: "https://feeds.example",
      adminToken: "x".repeat(16),
      secretGraceSeconds: 86_400,
    });
    expect(() => readLambdaConfig({ NASHIR_ADMIN_TOKEN: "x".repeat(16) })).toThrow(LambdaConfigError);
    expect(() => readLambdaConfig({ NASHIR_BASE_URL: "feeds.example", NASHIR_ADMIN_TOKEN: "x".repeat(16) })).toThrow(/NASHIR_BASE_URL/);
    expect(() => readLambdaConfig({ NASHIR_BASE_URL: "https://feeds.example" })).toThrow(/NASHIR_ADMIN_TOKEN/);
    expect(() => readLambdaConfig({ NASHIR_BASE_URL: "https://feeds.example", NASHIR_ADMIN_TOKEN: "x".repeat(16), NASHIR_SECRET_GRACE_SECONDS: "-1" })).toThrow(/GRACE/);
  });

  it("uses table `nashir` by default; with an endpoint and no AWS settings, us-east-1 and dummy credentials", () => {
    expect(readDynamoSettings({})).toEqual({ table: "nashir" });
    expect(() => readDynamoSettings({ NASHIR_DYNAMODB_ENDPOINT: "localhost:4567" })).toThrow(/ENDPOINT/);
    expect(() => readDynamoSettings({ NASHIR_DYNAMODB_TABLE: "a b" })).toThrow(/TABLE/);
    const local = dynamoClientConfig({ NASHIR_DYNAMODB_ENDPOINT: "http://127.0.0.1:4567" });
    expect(local).toMatchObject({ endpoint: "http://127.0.0.1:4567", region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    // AWS settings win: the operator's region, and the SDK's own credential chain.
    const configured = dynamoClientConfig({ NASHIR_DYNAMODB_ENDPOINT: "http://127.0.0.1:4567", AWS_REGION: "eu-west-1", AWS_PROFILE: "dev" });
    expect(configured.region).toBe("eu-west-1");
    expect(configured.credentials).toBeUndefined();
    // On AWS (no endpoint): nothing is made up.
    const aws = dynamoClientConfig({ AWS_REGION: "me-south-1" });
    expect(aws.endpoint).toBeUndefined();
    expect(aws.credentials).toBeUndefined();
    expect(aws.region).toBe("me-south-1");
  });
});

describe("template.yaml (AWS SAM, written as JSON, which is YAML)", () => {
  interface Resource {
    Type: string;
    Properties: Record<string, unknown>;
  }
  const template = JSON.parse(readFileSync(join(ROOT, "template.yaml"), "utf8")) as {
    Transform: string;
    Parameters: Record<string, unknown>;
    Resources: Record<string, Resource>;
    Outputs: Record<string, unknown>;
  };
  const byType = (type: string): Resource[] => Object.values(template.Resources).filter((r) => r.Type === type);

  it("creates the table the store uses: keys, attribute types, GSIs and TTL", () => {
    expect(template.Transform).toBe("AWS::Serverless-2016-10-31");
    const [tableResource, ...others] = byType("AWS::DynamoDB::Table");
    expect(others).toEqual([]);
    const p = tableResource!.Properties;
    const sortBy = (list: unknown, key: string) =>
      [...(list as Record<string, unknown>[])].sort((a, b) => String(a[key]).localeCompare(String(b[key])));
    expect(p.BillingMode).toBe(TABLE_SCHEMA.BillingMode);
    expect(p.KeySchema).toEqual(TABLE_SCHEMA.KeySchema);
    expect(sortBy(p.AttributeDefinitions, "AttributeName")).toEqual(sortBy(TABLE_SCHEMA.AttributeDefinitions, "AttributeName"));
    expect(sortBy(p.GlobalSecondaryIndexes, "IndexName")).toEqual(sortBy(TABLE_SCHEMA.GlobalSecondaryIndexes, "IndexName"));
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
  });

  it("creates the function (arm64, Node 22/24, the bundle's handler), its function URL and an HTTP API route", () => {
    const [fn, ...others] = byType("AWS::Serverless::Function");
    expect(others).toEqual([]);
    const p = fn!.Properties as {
      Runtime: string;
      Architectures: string[];
      Handler: string;
      CodeUri: string;
      Timeout: number;
      Environment: { Variables: Record<string, unknown> };
      FunctionUrlConfig: { AuthType: string };
      Events: Record<string, { Type: string }>;
      Policies: unknown[];
    };
    expect(p.Runtime).toMatch(/^nodejs(22|24)\.x$/);
    expect(p.Architectures).toEqual(["arm64"]);
    expect(p.Handler).toBe(LAMBDA_HANDLER);
    expect(p.CodeUri.replace(/\/$/, "")).toBe("dist/lambda");
    // WebSub pings may hold the answer up to 18 s (README); the function must outlive that.
    expect(p.Timeout).toBeGreaterThanOrEqual(25);
    expect(p.FunctionUrlConfig.AuthType).toBe("NONE");
    expect(Object.values(p.Events).map((e) => e.Type)).toContain("HttpApi");
    const tableId = Object.entries(template.Resources).find(([, r]) => r.Type === "AWS::DynamoDB::Table")?.[0];
    expect(Object.keys(p.Environment.Variables).sort()).toEqual(["NASHIR_ADMIN_TOKEN", "NASHIR_BASE_URL", "NASHIR_DYNAMODB_TABLE"]);
    expect(p.Environment.Variables.NASHIR_DYNAMODB_TABLE).toEqual({ Ref: tableId });
    expect(JSON.stringify(p.Policies)).toContain(JSON.stringify({ DynamoDBCrudPolicy: { TableName: { Ref: tableId } } }));
    // What the variables are read by: the same names readLambdaConfig and readDynamoSettings use.
    const vars = { NASHIR_BASE_URL: "https://feeds.example", NASHIR_ADMIN_TOKEN: "x".repeat(16), NASHIR_DYNAMODB_TABLE: "nashir-prod" };
    expect(readLambdaConfig(vars).baseUrl).toBe("https://feeds.example");
    expect(readDynamoSettings(vars).table).toBe("nashir-prod");
  });
});
