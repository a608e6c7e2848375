// The end-to-end suite against the Worker: `npm run dev:cf` (scripts/dev-cf.ts) as a child process,
// i.e. the D1 migrations applied locally, then `wrangler dev` running functions/worker.ts in workerd,
// offline, with local D1, KV and Cache API state in a temporary folder.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, freePort, spawnServer, waitForHealthy } from "../functions/server-process.ts";
import { e2eSuite, type StartServer } from "./contract.ts";

const QUIET = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

const startWorkerServer: StartServer = async (settings) => {
  const state = mkdtempSync(join(tmpdir(), "nashir-e2e-worker-"));
  const port = await freePort();
  const inspector = await freePort();
  const proc = spawnServer({
    script: "scripts/dev-cf.ts",
    port,
    env: {
      ...QUIET,
      PORT: String(port),
      NASHIR_ADMIN_TOKEN: settings.adminToken,
      NASHIR_BASE_URL: settings.baseUrl,
      NASHIR_CF_STATE: join(state, "state"),
      NASHIR_CF_INSPECTOR_PORT: String(inspector),
      WRANGLER_LOG_PATH: join(state, "logs"),
    },
  });
  await waitForHealthy(proc, 90_000);
  return {
    origin: proc.origin,
    baseUrl: settings.baseUrl,
    adminToken: settings.adminToken,
    proc,
    cleanup: () => rmSync(state, { recursive: true, force: true }),
  };
};

e2eSuite("Cloudflare Worker (wrangler dev: workerd, D1, KV, Cache API)", startWorkerServer);

describe("npm run dev:cf", () => {
  it("refuses to start without NASHIR_ADMIN_TOKEN", () => {
    const result = spawnSync(process.execPath, ["scripts/dev-cf.ts"], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...QUIET, NASHIR_ADMIN_TOKEN: "", PORT: "1" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/NASHIR_ADMIN_TOKEN must be set/);
  });
});
