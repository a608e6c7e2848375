// Credentials: API keys, Standard Webhooks secrets and signatures. Uses only Web Crypto,
// which Node, workerd and Lambda all provide. Randomness is passed in like the clock.

export type RandomBytes = (length: number) => Uint8Array;

/** Signatures older or newer than this are refused (Standard Webhooks: 5 minutes). */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

const encoder = new TextEncoder();

export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function base64Url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes standard base64; undefined when it is not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * API keys name their site (`nsr_{site}_{random}`), so a key sent to the wrong site can be
 * told apart (403) from a wrong key (401) without a lookup across sites.
 */
export function newApiKey(slug: string, random: RandomBytes): string {
  return `nsr_${slug}_${base64Url(random(32))}`;
}

/** The site a well-formed API key was issued for. */
export function apiKeySite(key: string): string | undefined {
  const match = /^nsr_([a-z0-9][a-z0-9-]{0,62})_[A-Za-z0-9_-]{43}$/.exec(key);
  return match?.[1];
}

/** `whsec_` + base64 of 32 random bytes, as in Standard Webhooks. */
export function newWebhookSecret(random: RandomBytes): string {
  return `whsec_${base64(random(32))}`;
}

export function newToken(random: RandomBytes): string {
  return base64Url(random(32));
}

export interface SignedRequest {
  id: string;
  timestamp: string;
  signature: string;
  body: Uint8Array;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Checks the timestamp window first: it needs no secret and says the clearer thing. */
export function checkTimestamp(timestamp: string, nowMs: number): SignatureCheck {
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "webhook-timestamp must be Unix seconds" };
  const skew = Math.abs(nowMs / 1000 - Number(timestamp));
  if (skew > SIGNATURE_TOLERANCE_SECONDS) {
    return { ok: false, reason: "webhook-timestamp is more than 5 minutes away from the server's clock" };
  }
  return { ok: true };
}

async function hmacKey(secret: string, usage: "sign" | "verify"): Promise<CryptoKey | undefined> {
  const key = fromBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
  if (!key || key.length === 0) return undefined;
  return crypto.subtle.importKey("raw", key as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

/** The signed content: `{id}.{timestamp}.{raw body}`. */
function signedContent(id: string, timestamp: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  return signed;
}

/** True when any `v1,<base64>` value in the header is the HMAC of this request under `secret`. */
export async function signatureMatches(secret: string, request: SignedRequest): Promise<boolean> {
  return signatureMatchesKey(await hmacKey(secret, "verify"), request);
}

/** signatureMatches with the secret already imported (undefined: a secret that is not base64). */
async function signatureMatchesKey(key: CryptoKey | undefined, request: SignedRequest): Promise<boolean> {
  if (!key) return false;
  const signed = signedContent(request.id, request.timestamp, request.body);
  for (const mac of offeredMacs(request.signature)) {
    // subtle.verify compares in constant time.
    if (await crypto.subtle.verify("HMAC", key, mac as Uint8Array<ArrayBuffer>, signed)) return true;
  }
  return false;
}

/**
 * The digests a publish computes: the replay fingerprint and API key hashes (SHA-256) and the
 * webhook signature (HMAC-SHA256). Web Crypto (the default) works on every platform; a platform
 * may pass faster ones: on Node, node:crypto answers synchronously, without Web Crypto's promise
 * and job round trip (~55 µs less per signed publish). Both must give the same bytes.
 */
export interface Digests {
  /** Lowercase hex SHA-256. */
  sha256Hex(data: Uint8Array): string | Promise<string>;
  /** HMAC-SHA256 of `data` under the raw `key`. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Compares two byte strings in time that depends only on their lengths. */
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** The MACs a signature header offers: `v1,<base64>` values of 32 bytes (at most 10 looked at). */
function offeredMacs(signature: string): Uint8Array[] {
  const macs: Uint8Array[] = [];
  for (const value of signature.split(" ").slice(0, 10)) {
    const [version, encoded] = value.split(",", 2);
    if (version !== "v1" || !encoded) continue;
    const mac = fromBase64(encoded);
    if (mac && mac.length === 32) macs.push(mac);
  }
  return macs;
}

/**
 * signatureMatches that decodes or imports each secret once (importing a Web Crypto key costs
 * about as much as verifying a 4 KB body), computing the MACs with `digests` when given. Holds at
 * most `maxKeys` secrets (all are forgotten when it is full); a secret is only ever looked up for
 * a credential that is live at that moment.
 */
export function createSignatureVerifier(digests?: Digests, maxKeys = 1_000): (secret: string, request: SignedRequest) => Promise<boolean> {
  if (digests) {
    const keys = new Map<string, Uint8Array | undefined>();
    return async (secret, request) => {
      let key = keys.get(secret);
      if (!keys.has(secret)) {
        if (keys.size >= maxKeys) keys.clear();
        key = fromBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret);
        keys.set(secret, key);
      }
      if (!key || key.length === 0) return false;
      const offered = offeredMacs(request.signature);
      if (offered.length === 0) return false;
      const expected = await digests.hmacSha256(key, signedContent(request.id, request.timestamp, request.body));
      let found = false;
      for (const mac of offered) if (bytesEqual(mac, expected)) found = true;
      return found;
    };
  }
  const keys = new Map<string, Promise<CryptoKey | undefined>>();
  return async (secret, request) => {
    let key = keys.get(secret);
    if (key === undefined) {
      if (keys.size >= maxKeys) keys.clear();
      key = hmacKey(secret, "verify").catch(() => undefined);
      keys.set(secret, key);
    }
    return signatureMatchesKey(await key, request);
  };
}

/** Signs a request the way a CMS does (used by tests, the README example and tooling). */
export async function signWebhook(secret: string, id: string, timestamp: string, body: Uint8Array): Promise<string> {
  const key = await hmacKey(secret, "sign");
  if (!key) throw new Error("webhook secret is not base64");
  const mac = await crypto.subtle.sign("HMAC", key, signedContent(id, timestamp, body));
  return `v1,${base64(new Uint8Array(mac))}`;
}
