// The local DynamoDB path, as a developer runs it: `npm run dynalite` (scripts/dynalite.ts) in one
// process, `NASHIR_STORE=dynamodb NASHIR_DYNAMODB_ENDPOINT=… npm start` (functions/node.ts) in
// another, with no AWS settings at all; then the shared publish → read → 304 → delete path.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkPublishReadDelete, freePort, killAllServers, REPO_ROOT, spawnServer, waitForHealthy } from "./server-process.ts";

const TOKEN = "dynamo-admin-token-0123456789";

/** This process's environment without any AWS setting, plus `extra`. */
function withoutAws(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env)) if (key.startsWith("AWS_")) env[key] = undefined;
  return { ...env, ...extra };
}

describe("Node server on DynamoDB (npm run dynalite + NASHIR_STORE=dynamodb npm start)", () => {
  let dynaliteProcess: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), "nashir-node-ddb-"));

  afterAll(async () => {
    await killAllServers();
    dynaliteProcess?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the whole publish, read, revalidate and delete path from DynamoDB", async () => {
    const dynalitePort = await freePort();
    const child = spawn(process.execPath, ["scripts/dynalite.ts"], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "", DYNALITE_PORT: String(dynalitePort), NASHIR_DYNAMODB_TABLE: "nashir-local" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    dynaliteProcess = child;
    let out = "";
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("is ACTIVE")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`scripts/dynalite.ts exited (${code}): ${out}`)));
    });
    expect(out).toContain(`http://127.0.0.1:${dynalitePort}`);

    const port = await freePort();
    const proc = spawnServer({
      script: "functions/node.ts",
      port,
      env: withoutAws({
        PORT: String(port),
        HOST: "127.0.0.1",
        NASHIR_STORE: "dynamodb",
        NASHIR_DYNAMODB_ENDPOINT: `http://127.0.0.1:${dynalitePort}`,
        NASHIR_DYNAMODB_TABLE: "nashir-local",
        NASHIR_ADMIN_TOKEN: TOKEN,
        NASHIR_DB: join(dir, "data", "nashir.db"),
        NASHIR_BASE_URL: "https://feeds.nisan.example",
      }),
    });
    await waitForHealthy(proc);
    await checkPublishReadDelete({ origin: proc.origin, adminToken: TOKEN, baseUrl: "https://feeds.nisan.example" }, "nisan");
    // Nothing went to SQLite.
    expect(readdirSync(dir).filter((name) => name !== "data")).toEqual([]);
    expect(() => readdirSync(join(dir, "data"))).toThrow();
  }, 60_000);
});
