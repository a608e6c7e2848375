// HTTP helpers for the benchmark: the real Node entry (functions/node.ts) and the plain node:http
// baseline as child processes on 127.0.0.1, the load generator (wrk when installed, else autocannon) as
// a child process, raw requests.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT } from "./fixtures.ts";

export const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
export const BASE_URL = "https://feeds.nisan.example";

export interface Child {
  process: ChildProcess;
  origin: string;
  pid: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function spawnChild(args: string[], env: Record<string, string>, port: number): Child {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  child.on("exit", (code, signal) => {
    if (code !== 0 && code !== null && signal === null) process.stderr.write(`child ${args.join(" ")} exited ${code}\n${stderr}\n`);
  });
  return {
    process: child,
    origin: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(12_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

async function waitFor(url: string, child: Child): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`${url}: the process exited (${child.process.exitCode})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within 30 s`);
}

/** The real Node entry point, on its own SQLite file. */
export async function startNashir(dbPath: string): Promise<Child> {
  const port = await freePort();
  const child = spawnChild(
    ["functions/node.ts"],
    { PORT: String(port), HOST: "127.0.0.1", NASHIR_DB: dbPath, NASHIR_ADMIN_TOKEN: ADMIN_TOKEN, NASHIR_BASE_URL: BASE_URL, NASHIR_STORE: "sqlite" },
    port,
  );
  await waitFor(`${child.origin}/healthz`, child);
  return child;
}

export type BaselineMode = "plain" | "plain+sqlite" | "hono" | "hono+sqlite";

/** bench/plain-server.ts: the given body and headers from memory (see its modes). */
export async function startPlain(bodyFile: string, headersFile: string, mode: BaselineMode = "plain", dbPath?: string): Promise<Child> {
  const port = await freePort();
  const args = [join("bench", "plain-server.ts"), String(port), bodyFile, headersFile, mode];
  if (dbPath !== undefined) args.push(dbPath);
  const child = spawnChild(args, {}, port);
  await waitFor(`${child.origin}/`, child);
  return child;
}

/** CPU time (user + system) a process has used, in ms (Linux /proc; undefined elsewhere). */
export function cpuMs(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ");
    const ticks = Number(fields?.[11]) + Number(fields?.[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** A node:http request (no decompression, keep-alive), with the time to the last byte. */
export function rawRequest(origin: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse & { ms: number }> {
  const url = new URL(path, origin);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: init.method ?? "GET", headers: init.headers ?? {}, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers[k] = v;
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks), ms: performance.now() - started });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

export interface CannonResult {
  /** The load generator that produced this result, e.g. "wrk 4.1.0" or "autocannon". */
  client: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Bytes read, headers included (wrk reports it rounded to 3 significant figures). */
  bytes: number;
  /** autocannon: responses other than 2xx (a 304 counts); wrk: responses other than 2xx or 3xx (a 304 does not). */
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
}

function num(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`autocannon: ${name} is not a number`);
  return value;
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

interface LoadOptions {
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

let detected: string | null | undefined;

/** "wrk <version>" when wrk is on the PATH (and BENCH_CLIENT is not "autocannon"), else null. */
function wrkVersion(): string | null {
  if (detected !== undefined) return detected;
  detected = null;
  if (process.env.BENCH_CLIENT === "autocannon") return detected;
  const probe = spawnSync("wrk", ["--version"], { encoding: "utf8", timeout: 5_000 });
  if (probe.error === undefined && `${probe.stdout}${probe.stderr}`.startsWith("wrk ")) {
    const version = /^wrk\s+(?:\S*\/)?(\d+(?:\.\d+)+)/.exec(`${probe.stdout}${probe.stderr}`)?.[1];
    detected = version === undefined ? "wrk" : `wrk ${version}`;
  }
  return detected;
}

/** The load generator cannon() uses: "wrk 4.1.0" (wrk -t2) or "autocannon". */
export function loadGenerator(): string {
  return wrkVersion() ?? "autocannon";
}

/** Runs a load generator as a child process, killed `seconds` + 30 s after the start at the latest. */
function runClient(command: string, args: string[], seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      err = (err + chunk).slice(-2_000);
    });
    child.on("error", reject);
    const killer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1_000);
    child.on("exit", (code) => {
      clearTimeout(killer);
      if (code !== 0) reject(new Error(`${command} exited ${code}: ${err}${out.slice(-2_000)}`));
      else resolve(out);
    });
  });
}

/** The load generator on `url` (127.0.0.1 only): `connections` for `seconds`. wrk when installed, else autocannon. */
export async function cannon(url: string, options: LoadOptions): Promise<CannonResult> {
  if (new URL(url).hostname !== "127.0.0.1") throw new Error(`load generator: ${url} is not on 127.0.0.1`);
  const wrk = wrkVersion();
  return wrk === null ? autocannon(url, options) : wrkRun(wrk, url, options);
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const BYTE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function wrkNumber(text: string, pattern: RegExp, name: string): RegExpExecArray {
  const match = pattern.exec(text);
  if (match === null) throw new Error(`wrk: no ${name} in its output:\n${text}`);
  return match;
}

/** A wrk time such as 812.00us, 1.23ms or 2.01s, in ms (to the µs). */
function wrkMs(text: string, pattern: RegExp, name: string): number {
  const match = wrkNumber(text, pattern, name);
  const factor = TIME_UNITS[match[2] ?? ""];
  if (factor === undefined) throw new Error(`wrk: unknown time unit in ${name}: ${match[0]}`);
  return Math.round(Number(match[1]) * factor * 1_000) / 1_000;
}

/** wrk -t2 (C, epoll): the --latency distribution's 50% and 99% lines, Requests/sec, socket errors. */
async function wrkRun(client: string, url: string, options: LoadOptions): Promise<CannonResult> {
  const args = ["-t2", `-c${options.connections}`, `-d${options.seconds}s`, "--latency"];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push("-H", `${k}: ${v}`);
  args.push(url);
  const out = await runClient("wrk", args, options.seconds);
  const total = wrkNumber(out, /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read/m, "request count");
  const seconds = (Number(total[2]) * (TIME_UNITS[total[3] ?? ""] ?? Number.NaN)) / 1_000;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    client,
    rps: Number(wrkNumber(out, /^Requests\/sec:\s+([\d.]+)/m, "Requests/sec")[1]),
    p50: wrkMs(out, /^\s*50%\s+([\d.]+)(us|ms|s|m|h)\s*$/m, "50% latency"),
    p99: wrkMs(out, /^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$/m, "99% latency"),
    requests: Number(total[1]),
    bytes: Number(total[4]) * (BYTE_UNITS[total[5] ?? ""] ?? Number.NaN),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: socket === null ? 0 : Number(socket[1]) + Number(socket[2]) + Number(socket[3]),
    timeouts: socket === null ? 0 : Number(socket[4]),
    seconds,
  };
}

/** autocannon (npm) as a child process: `connections` for `seconds`, JSON results. */
async function autocannon(url: string, options: LoadOptions): Promise<CannonResult> {
  const args = [join(ROOT, "node_modules", "autocannon", "autocannon.js"), "-c", String(options.connections), "-d", String(options.seconds), "-j", "-n"];
  for (const [k, v] of Object.entries(options.headers ?? {})) args.push("-H", `${k}=${v}`);
  args.push(url);
  const out = await runClient(process.execPath, args, options.seconds);
  const json: unknown = JSON.parse(out);
  const requests = field(json, "requests");
  const latency = field(json, "latency");
  return {
    client: "autocannon",
    rps: num(field(requests, "average"), "requests.average"),
    requests: num(field(requests, "total"), "requests.total"),
    bytes: num(field(field(json, "throughput"), "total"), "throughput.total"),
    p50: num(field(latency, "p50"), "latency.p50"),
    p99: num(field(latency, "p99"), "latency.p99"),
    non2xx: num(field(json, "non2xx"), "non2xx"),
    errors: num(field(json, "errors"), "errors"),
    timeouts: num(field(json, "timeouts"), "timeouts"),
    seconds: num(field(json, "duration"), "duration"),
  };
}

/** Resident set size and its peak of a process, in MiB (Linux /proc). */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kb("VmRSS") / 1024, peakMiB: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}
