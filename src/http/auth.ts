// Who may call: the admin token for /v1/sites/*, a site's API key or Standard Webhooks signature
// for its articles. Every failure counts toward the per-client limit.

import type { Context } from "hono";
import { apiKeySite, checkTimestamp, constantTimeEqual, createSignatureVerifier, sha256Hex, type Digests } from "../core/auth.ts";
import type { Credential, SiteRecord, Store } from "../store/port.ts";
import type { AppDeps } from "./deps.ts";
import type { FailureLimiter } from "./limiter.ts";
import { Problem } from "./problem.ts";

export interface Guard {
  /** 429 when this client failed too often; call before any credential check. */
  throttle(c: Context): void;
  requireAdmin(c: Context): void;
  /** Checks a publisher's API key or webhook signature against the site's live credentials. */
  requirePublisher(c: Context, record: SiteRecord, body: Uint8Array): Promise<void>;
}

function bearer(c: Context): string | undefined {
  const header = c.req.header("authorization");
  const match = header ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

export function liveCredentials(credentials: Credential[], now: number): Credential[] {
  return credentials.filter((k) => k.expires_at === undefined || Date.parse(k.expires_at) > now);
}

async function apiKeyValid(key: string, credentials: Credential[], now: number, digests: Digests | undefined): Promise<boolean> {
  const hash = digests ? await digests.sha256Hex(new TextEncoder().encode(key)) : await sha256Hex(key);
  let found = false;
  for (const credential of liveCredentials(credentials, now)) {
    if (constantTimeEqual(credential.api_key_hash, hash)) found = true;
  }
  return found;
}

/** `digests`: the platform's faster SHA-256 and HMAC, when it has them (Web Crypto otherwise). */
export function createGuard(deps: Pick<AppDeps, "config" | "clock" | "clientId">, store: Store, limiter: FailureLimiter, digests?: Digests): Guard {
  const fail = (c: Context, detail: string): never => {
    limiter.recordFailure(deps.clientId(c), deps.clock());
    throw new Problem(401, { detail, headers: { "www-authenticate": 'Bearer realm="nashir"' } });
  };

  const signatureMatches = createSignatureVerifier(digests);

  return {
    throttle(c) {
      const wait = limiter.retryAfter(deps.clientId(c), deps.clock());
      if (wait !== undefined) {
        throw new Problem(429, {
          detail: "Too many failed authentications from this client; try again later.",
          headers: { "retry-after": String(wait) },
        });
      }
    },

    requireAdmin(c) {
      this.throttle(c);
      const token = bearer(c);
      if (token === undefined) fail(c, "The admin token is missing (Authorization: Bearer …).");
      if (!constantTimeEqual(token!, deps.config.adminToken)) fail(c, "The admin token is wrong.");
    },

    async requirePublisher(c, record, body) {
      this.throttle(c);
      const now = deps.clock();
      const key = bearer(c);
      if (key !== undefined) {
        if (await apiKeyValid(key, record.credentials, now, digests)) return;
        const owner = apiKeySite(key);
        if (owner !== undefined && owner !== record.site.slug) {
          const other = await store.getSite(owner);
          if (other && (await apiKeyValid(key, other.credentials, now, digests))) {
            throw new Problem(403, { detail: `This API key belongs to another site, not ${record.site.slug}.` });
          }
        }
        return fail(c, "The API key is wrong, revoked or expired.");
      }
      const signature = c.req.header("webhook-signature");
      if (signature === undefined) {
        return fail(c, "Credentials are missing: send Authorization: Bearer <api_key> or a Standard Webhooks signature.");
      }
      const id = c.req.header("webhook-id");
      const timestamp = c.req.header("webhook-timestamp");
      if (!id) return fail(c, "The webhook-id header is missing.");
      if (!timestamp) return fail(c, "The webhook-timestamp header is missing.");
      const fresh = checkTimestamp(timestamp, now);
      if (!fresh.ok) return fail(c, fresh.reason);
      for (const credential of liveCredentials(record.credentials, now)) {
        if (await signatureMatches(credential.webhook_secret, { id, timestamp, signature, body })) return;
      }
      return fail(c, "The webhook signature does not match.");
    },
  };
}
