// What the Node server and Lambda share: both run on Node, so compression, randomness and
// logging are the same code.

import { createHash, createHmac, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { brotliCompress, constants as zlibConstants, gzip } from "node:zlib";
import type { Digests } from "../core/auth.ts";
import type { Allocate } from "../core/render/index.ts";
import type { Compressor } from "../http/deps.ts";

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

/**
 * A feed body's buffer without zero-filling it: the renderer writes every byte (it checks the
 * length), so the zeroing is wasted work. Its own ArrayBuffer, never a slice of Node's shared pool.
 */
export const allocateBody: Allocate = (byteLength) => new Uint8Array(Buffer.allocUnsafeSlow(byteLength).buffer, 0, byteLength);

/** node:crypto answers synchronously: no Web Crypto promise and thread-pool round trip per publish. */
export const nodeDigests: Digests = {
  sha256Hex: (data) => createHash("sha256").update(data).digest("hex"),
  hmacSha256: (key, data) => new Uint8Array(createHmac("sha256", key).update(data).digest()),
};

export function cryptoRandom(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

/** One JSON line per event on stdout (the terminal, or CloudWatch Logs). */
export function jsonLineLog(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}
