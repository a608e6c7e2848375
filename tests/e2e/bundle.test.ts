// The Worker bundle, built exactly as `wrangler deploy` builds it (--dry-run, nothing uploaded):
// no AWS SDK, no Node-only module (the Worker runs without nodejs_compat), within the size budget.

import { mkdtempSync, rmSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUDGET_GZIP_BYTES, ROOT, buildWorker, type WorkerBuild } from "../../scripts/size-cf.ts";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const NODE_BUILTINS = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

describe("Worker bundle (wrangler deploy --dry-run)", () => {
  let outdir: string;
  let build: WorkerBuild;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), "nashir-bundle-"));
    build = buildWorker(outdir);
  }, 60_000);
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it("bundles functions/worker.ts and the app it serves", () => {
    const inputs = Object.keys(build.metafile.inputs);
    for (const file of ["functions/worker.ts", "src/platform/worker.ts", "src/http/app.ts", "src/store/d1.ts", "src/store/cache/kv.ts", "src/store/cache/edge.ts"]) {
      expect(inputs.some((input) => input.endsWith(file)), file).toBe(true);
    }
  });

  it("contains no AWS SDK and nothing of the Node server", () => {
    const inputs = Object.keys(build.metafile.inputs);
    expect(inputs.filter((input) => /@aws-sdk|@smithy|@hono\/node-server/.test(input))).toEqual([]);
    expect(inputs.filter((input) => /src\/(platform\/node|platform\/hub-queue|store\/sqlite|store\/dynamodb)\.ts$/.test(input))).toEqual([]);
  });

  it("imports no Node module: nothing is left external but esbuild's own runtime", () => {
    const imports = [
      ...Object.values(build.metafile.inputs).flatMap((input) => input.imports),
      ...Object.values(build.metafile.outputs).flatMap((output) => output.imports),
    ];
    expect(imports.filter((i) => i.path.startsWith("node:") || NODE_BUILTINS.has(i.path))).toEqual([]);
    expect(imports.filter((i) => i.external === true && i.path !== "<runtime>")).toEqual([]);
    const outputs = Object.values(build.metafile.outputs);
    expect(outputs.flatMap((o) => o.imports)).toEqual([]);
  });

  it(`is under ${BUDGET_GZIP_BYTES / 1024} KiB gzipped`, () => {
    console.log(`Worker bundle: ${(build.bytes / 1024).toFixed(1)} KiB, gzip ${(build.gzipBytes / 1024).toFixed(1)} KiB; wrangler: ${build.wranglerSummary ?? "(no summary)"}`);
    expect(build.files.length).toBeGreaterThan(0);
    expect(build.gzipBytes).toBeLessThan(BUDGET_GZIP_BYTES);
  });
});

describe("the built bundle in workerd (Miniflare)", () => {
  let outdir: string;
  let scriptPath: string;
  const running: Miniflare[] = [];

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), "nashir-bundle-run-"));
    const build = buildWorker(outdir);
    const main = build.files.find((f) => f.path.endsWith(".js"));
    if (!main) throw new Error("no bundle written");
    scriptPath = join(ROOT, main.path);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(running.map((mf) => mf.dispose()));
    rmSync(outdir, { recursive: true, force: true });
  });

  function start(bindings: Record<string, string>): Miniflare {
    const mf = new Miniflare(
      convertV4MiniflareOptions({
        modules: true,
        scriptPath,
        modulesRoot: outdir,
        compatibilityDate: "2026-05-01",
        d1Databases: ["DB"],
        kvNamespaces: ["FEEDS"],
        bindings,
        cf: false,
      }),
    );
    running.push(mf);
    return mf;
  }

  it("without its settings, answers 500 problem+json naming the missing one, and never a stack", async () => {
    const noToken = start({ NASHIR_BASE_URL: "https://feeds.example.org" });
    const res = await noToken.dispatchFetch("http://localhost/healthz");
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const body = (await res.json()) as { detail: string };
    expect(body.detail).toMatch(/NASHIR_ADMIN_TOKEN/);

    const noBase = start({ NASHIR_ADMIN_TOKEN: "a-long-enough-admin-token" });
    const res2 = await noBase.dispatchFetch("http://localhost/nisan/rss.xml");
    expect(res2.status).toBe(500);
    expect(((await res2.json()) as { detail: string }).detail).toMatch(/NASHIR_BASE_URL/);
  });

  it("configured, it is healthy, and keeps one app per isolate (the failure limiter counts across requests)", async () => {
    const mf = start({ NASHIR_ADMIN_TOKEN: "a-long-enough-admin-token", NASHIR_BASE_URL: "https://feeds.example.org" });
    const health = await mf.dispatchFetch("http://localhost/healthz");
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await mf.dispatchFetch("http://localhost/v1/sites/nisan", {
        headers: { authorization: "Bearer wrong", "cf-connecting-ip": "203.0.113.9" },
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
  });
});
