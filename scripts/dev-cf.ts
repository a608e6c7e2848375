// `npm run dev:cf`: the Worker on this machine, offline, in workerd with local D1 and KV state.
// Applies the D1 migrations to the local database, then runs `wrangler dev` with the admin token
// and base URL as vars. Refuses to start without NASHIR_ADMIN_TOKEN (a Worker keeps no files, so
// there is nowhere to generate and keep one as the Node server does).
//
//   NASHIR_ADMIN_TOKEN  required, at least 16 characters
//   PORT                default 8787 (HOST is always 127.0.0.1)
//   NASHIR_BASE_URL     default http://127.0.0.1:$PORT
//   NASHIR_CF_STATE     local D1/KV/cache state folder, default .wrangler/state
//   NASHIR_CF_INSPECTOR_PORT  devtools port, default: wrangler's

import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");

function fail(message: string): never {
  process.stderr.write(`dev:cf: ${message}\n`);
  process.exit(1);
}

const token = process.env.NASHIR_ADMIN_TOKEN ?? "";
if (token.length < 16) {
  fail("NASHIR_ADMIN_TOKEN must be set (at least 16 characters), e.g.\n  NASHIR_ADMIN_TOKEN=$(openssl rand -hex 24) npm run dev:cf");
}
const portText = process.env.PORT || "8787";
const port = Number(portText);
if (!Number.isInteger(port) || port < 1 || port > 65_535) fail(`PORT must be an integer from 1 to 65535, not ${JSON.stringify(portText)}`);
const baseUrl = (process.env.NASHIR_BASE_URL || `http://127.0.0.1:${port}`).replace(/\/+$/, "");
const state = process.env.NASHIR_CF_STATE || join(root, ".wrangler", "state");

// Nothing phones home; no prompts.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
};

const migrate = spawnSync(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
  cwd: root,
  env,
  stdio: "inherit",
});
if (migrate.status !== 0) fail(`applying the D1 migrations failed (exit ${migrate.status ?? migrate.signal})`);

const args = [
  wrangler,
  "dev",
  "--local",
  "--ip",
  "127.0.0.1",
  "--port",
  String(port),
  "--persist-to",
  state,
  "--var",
  `NASHIR_ADMIN_TOKEN:${token}`,
  "--var",
  `NASHIR_BASE_URL:${baseUrl}`,
  "--show-interactive-dev-session=false",
  "--live-reload=false",
];
if (process.env.NASHIR_CF_INSPECTOR_PORT) args.push("--inspector-port", process.env.NASHIR_CF_INSPECTOR_PORT);

const dev = spawn(process.execPath, args, { cwd: root, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => dev.kill(signal));
}
dev.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
