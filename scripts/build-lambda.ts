// `npm run build:lambda`: bundles functions/lambda.ts with esbuild into dist/lambda/index.mjs (ESM,
// Node 24, arm64-agnostic JavaScript), the CodeUri and Handler of template.yaml, and prints its size.
// The AWS SDK client is bundled (not taken from the runtime), so the deployed code is the tested code.

import { readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";

export const ROOT = join(import.meta.dirname, "..");
export const LAMBDA_OUTDIR = join(ROOT, "dist", "lambda");
/** template.yaml's Handler: the file name (without .mjs) and the export. */
export const LAMBDA_HANDLER = "index.handler";

export interface LambdaBuild {
  outfile: string;
  bytes: number;
  gzipBytes: number;
  metafile: Metafile;
}

export async function buildLambda(outdir: string = LAMBDA_OUTDIR): Promise<LambdaBuild> {
  rmSync(outdir, { recursive: true, force: true });
  const outfile = join(outdir, "index.mjs");
  const result = await build({
    entryPoints: [join(ROOT, "functions", "lambda.ts")],
    outfile,
    bundle: true,
    platform: "node",
    // ES module builds first, so unused parts of the SDK are shaken out.
    mainFields: ["module", "main"],
    target: "node22",
    format: "esm",
    minify: true,
    treeShaking: true,
    sourcemap: "linked",
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
    // Some CommonJS dependencies require() Node built-ins; ESM output needs a require for them.
    banner: { js: 'import { createRequire as __nashirRequire } from "node:module"; const require = __nashirRequire(import.meta.url);' },
  });
  const data = readFileSync(outfile);
  return { outfile, bytes: data.byteLength, gzipBytes: gzipSync(data, { level: 9 }).byteLength, metafile: result.metafile };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

if (import.meta.main) {
  const built = await buildLambda();
  process.stdout.write(`${relative(ROOT, built.outfile)}: ${kib(built.bytes)}, gzip ${kib(built.gzipBytes)} (handler ${LAMBDA_HANDLER})\n`);
}
