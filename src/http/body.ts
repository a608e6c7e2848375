// Reading request bodies: media type, size cap, UTF-8 and JSON, each with its own status.

import type { Context } from "hono";
import { Problem } from "./problem.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

/** 415 unless the body is declared as JSON (charset, if given, must be UTF-8). */
export function requireJsonContentType(c: Context): void {
  const type = c.req.header("content-type");
  const [media, ...params] = (type ?? "").toLowerCase().split(";").map((s) => s.trim());
  const charset = params.find((p) => p.startsWith("charset="))?.slice(8).replace(/"/g, "");
  if (media !== "application/json" || (charset !== undefined && charset !== "utf-8" && charset !== "utf8")) {
    throw new Problem(415, { detail: "Content-Type must be application/json (UTF-8)." });
  }
}

/** The raw body, refused with 413 past the cap (a streamed body without reading the rest). */
export async function readBodyBytes(c: Context, max = MAX_BODY_BYTES): Promise<Uint8Array> {
  const tooLarge = () => new Problem(413, { detail: `The request body must be at most ${max} bytes.` });
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > max) throw tooLarge();
  if (declared !== undefined) {
    // The HTTP framing delivers no more than the declared length, so the body is read whole: on
    // Node straight from the socket, without a web stream. Checked again for runtimes that do not
    // hold a body to its Content-Length.
    const whole = new Uint8Array(await c.req.arrayBuffer());
    if (whole.byteLength > max) throw tooLarge();
    return whole;
  }
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** 400 for invalid UTF-8 or JSON that does not parse. */
export function parseJson(body: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw new Problem(400, { detail: "The request body is not valid UTF-8." });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Problem(400, { detail: "The request body is not valid JSON." });
  }
}
