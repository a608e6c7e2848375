// `npm run size:cf`: builds the Worker exactly as `wrangler deploy` would (--dry-run, nothing is
// uploaded) into dist/worker, and prints its size, gzipped, against the budget. Also used by
// tests/e2e/bundle.test.ts, which checks what went into the bundle.

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";

export const ROOT = join(import.meta.dirname, "..");
/** The budget for the gzipped Worker: well under the free plan's 3 MB, and quick to start. */
export const BUDGET_GZIP_BYTES = 150 * 1024;

export interface WorkerBuild {
  outdir: string;
  /** esbuild's metafile of the bundle. */
  metafile: Metafile;
  files: { path: string; bytes: number; gzipBytes: number }[];
  bytes: number;
  gzipBytes: number;
  /** wrangler's own summary line ("Total Upload: … / gzip: …"), when it printed one. */
  wranglerSummary?: string;
}

export interface Metafile {
  inputs: Record<string, { bytes: number; imports: { path: string; kind: string; external?: boolean }[] }>;
  outputs: Record<string, { bytes: number; imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, { bytesInOutput: number }> }>;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** `wrangler deploy --dry-run --outdir <outdir>`, offline, and the sizes of what it wrote. */
export function buildWorker(outdir: string = join(ROOT, "dist", "worker")): WorkerBuild {
  const metafilePath = join(outdir, "bundle-meta.json");
  const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  const result = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outdir, "--metafile", metafilePath], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`wrangler deploy --dry-run failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  const metafile = JSON.parse(readFileSync(metafilePath, "utf8")) as Metafile;
  // The modules wrangler uploads: the bundle and any additional modules, not the metafile or maps.
  const files = listFiles(outdir)
    .filter((file) => /\.(m?js|wasm)$/.test(file))
    .map((file) => {
      const data = readFileSync(file);
      return { path: relative(ROOT, file), bytes: data.byteLength, gzipBytes: gzipSync(data, { level: 9 }).byteLength };
    });
  const summary = /Total Upload:[^\n]*/.exec(`${result.stdout}\n${result.stderr}`)?.[0];
  const build: WorkerBuild = {
    outdir,
    metafile,
    files,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    gzipBytes: files.reduce((sum, f) => sum + f.gzipBytes, 0),
  };
  if (summary) build.wranglerSummary = summary.trim();
  return build;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

if (import.meta.main) {
  const build = buildWorker();
  for (const file of build.files) process.stdout.write(`${file.path}: ${kib(file.bytes)}, gzip ${kib(file.gzipBytes)}\n`);
  if (build.wranglerSummary) process.stdout.write(`wrangler: ${build.wranglerSummary}\n`);
  const verdict = build.gzipBytes <= BUDGET_GZIP_BYTES ? "within" : "OVER";
  process.stdout.write(`Worker bundle: ${kib(build.bytes)}, gzip ${kib(build.gzipBytes)} (${verdict} the ${kib(BUDGET_GZIP_BYTES)} budget)\n`);
  if (build.gzipBytes > BUDGET_GZIP_BYTES) process.exit(1);
}
