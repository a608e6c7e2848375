// The end-to-end suite against the Node server on DynamoDB, as a developer runs it locally:
// `npm run dynalite` (scripts/dynalite.ts) in one process, then functions/node.ts with
// NASHIR_STORE=dynamodb, NASHIR_DYNAMODB_ENDPOINT and NASHIR_DYNAMODB_TABLE and no AWS settings.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, spawnServer, waitForHealthy } from "../functions/server-process.ts";
import { e2eSuite, startDynaliteProcess, withoutAws, type StartServer } from "./contract.ts";

const startNodeOnDynalite: StartServer = async (settings) => {
  // NASHIR_DB points into a folder that must stay empty: nothing goes to SQLite.
  const dir = mkdtempSync(join(tmpdir(), "nashir-e2e-node-ddb-"));
  try {
    const dynalite = await startDynaliteProcess("nashir-e2e-node");
    const port = await freePort();
    const proc = spawnServer({
      script: "functions/node.ts",
      port,
      env: withoutAws({
        PORT: String(port),
        HOST: "127.0.0.1",
        NASHIR_STORE: "dynamodb",
        NASHIR_DYNAMODB_ENDPOINT: dynalite.endpoint,
        NASHIR_DYNAMODB_TABLE: dynalite.table,
        NASHIR_DB: join(dir, "unused", "nashir.db"),
        NASHIR_BASE_URL: settings.baseUrl,
        NASHIR_ADMIN_TOKEN: settings.adminToken,
      }),
    });
    await waitForHealthy(proc);
    return {
      origin: proc.origin,
      baseUrl: settings.baseUrl,
      adminToken: settings.adminToken,
      proc,
      cleanup: () => {
        proc.kill();
        dynalite.proc.kill();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
};

e2eSuite("Node server (DynamoDB on dynalite)", startNodeOnDynalite);
