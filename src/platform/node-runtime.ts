// What the Node server and Lambda share: both run on Node, so compression, randomness, logging
// and setting parsers are the same code.

import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { brotliCompress, constants as zlibConstants, gzip } from "node:zlib";
import type { Compressor } from "../http/deps.ts";

export type Env = Record<string, string | undefined>;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** gzip level 6 and brotli quality 5: most of the saving for a fraction of the CPU of the maximum. */
export const zlibCompress: Compressor = async (data, coding) => {
  const out =
    coding === "br"
      ? await brotliAsync(data, {
          params: {
            [zlibConstants.BROTLI_PARAM_QUALITY]: 5,
            [zlibConstants.BROTLI_PARAM_MODE]: zlibConstants.BROTLI_MODE_TEXT,
            [zlibConstants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
          },
        })
      : await gzipAsync(data, { level: 6 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

export function cryptoRandom(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

/** One JSON line per event on stdout (the terminal, or CloudWatch Logs). */
export function jsonLineLog(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

/** An integer setting in [min, max], or the fallback when unset; throws `makeError(message)` otherwise. */
export function integerSetting(env: Env, name: string, fallback: number, min: number, max: number, makeError: (message: string) => Error = (m) => new Error(m)): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw makeError(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(raw)}.`);
  }
  return value;
}

/** An absolute http(s) origin without a trailing slash; throws `makeError(message)` otherwise. */
export function baseUrlSetting(raw: string, makeError: (message: string) => Error = (m) => new Error(m)): string {
  const baseUrl = raw.replace(/\/+$/, "");
  let protocol = "";
  try {
    protocol = new URL(baseUrl).protocol;
  } catch {
    // Reported below.
  }
  if (protocol !== "http:" && protocol !== "https:") {
    throw makeError(`NASHIR_BASE_URL must be an absolute http(s) URL, not ${JSON.stringify(raw)}.`);
  }
  return baseUrl;
}
