// Admin routes: create, read, update and delete sites; rotate their credentials.

import type { Hono } from "hono";
import { newApiKey, newWebhookSecret, sha256Hex } from "../core/auth.ts";
import { formatRfc3339 } from "../core/dates.ts";
import type { Site } from "../core/model.ts";
import { buildSite, slugProblem, validateSiteInput } from "../core/site.ts";
import type { Credential, SiteRecord } from "../store/port.ts";
import type { Guard } from "./auth.ts";
import { liveCredentials } from "./auth.ts";
import { parseJson, readBodyBytes, requireJsonContentType } from "./body.ts";
import type { AppDeps } from "./deps.ts";
import { Problem, invalid } from "./problem.ts";

/** Rotated-out credentials kept at most (each still limited by its grace period). */
const MAX_CREDENTIALS = 5;

export interface IssuedCredentials {
  api_key: string;
  webhook_secret: string;
  credential: Credential;
}

async function issueCredentials(deps: AppDeps, slug: string, now: number): Promise<IssuedCredentials> {
  const apiKey = newApiKey(slug, deps.random);
  const secret = newWebhookSecret(deps.random);
  return {
    api_key: apiKey,
    webhook_secret: secret,
    credential: { api_key_hash: await sha256Hex(apiKey), webhook_secret: secret, created_at: formatRfc3339(now) },
  };
}

/**
 * A new site's first version. Random, not 1: feeds are cached and validated (ETag) by version, so
 * a site deleted and created again under the same name must not start where the old one did and
 * be served the old site's cached bytes or match its ETags. Below 2^48, leaving room to count up.
 */
function firstVersion(deps: AppDeps): number {
  let version = 0;
  for (const byte of deps.random(6)) version = version * 256 + byte;
  return version + 1;
}

function siteBody(site: Site, extra: Record<string, string> = {}): string {
  return JSON.stringify({ ...site, ...extra });
}

const json = (body: string, status: number) =>
  new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } });

export async function requireSite(deps: AppDeps, slug: string): Promise<SiteRecord> {
  const record = slugProblem(slug) === undefined ? await deps.store.getSite(slug) : undefined;
  if (!record) throw new Problem(404, { detail: `There is no site named ${JSON.stringify(slug)}.` });
  return record;
}

export function registerSiteRoutes(app: Hono, deps: AppDeps, guard: Guard): void {
  app.put("/v1/sites/:site", async (c) => {
    guard.requireAdmin(c);
    const slug = c.req.param("site");
    const bad = slugProblem(slug);
    if (bad) throw invalid([{ field: "/slug", message: bad }]);
    requireJsonContentType(c);
    const input = validateSiteInput(parseJson(await readBodyBytes(c)), slug);
    if (!input.ok) throw invalid(input.errors);
    const now = deps.clock();
    const nowText = formatRfc3339(now);

    const existing = await deps.store.getSite(slug);
    if (!existing) {
      const issued = await issueCredentials(deps, slug, now);
      const site = buildSite(slug, input.value, nowText, nowText);
      const created = await deps.store.createSite({ site, version: firstVersion(deps), modified_at: nowText, credentials: [issued.credential] });
      if (created) {
        deps.log({ event: "site.created", site: slug });
        return json(siteBody(site, { api_key: issued.api_key, webhook_secret: issued.webhook_secret }), 201);
      }
    }
    // Exists (or was created by a racing request a moment ago): update, keeping created_at.
    const current = existing ?? (await requireSite(deps, slug));
    const updated = await deps.store.updateSite(slug, buildSite(slug, input.value, current.site.created_at, nowText), nowText);
    if (!updated) throw new Problem(404, { detail: `The site ${slug} was deleted while it was being updated.` });
    deps.log({ event: "site.updated", site: slug });
    return json(siteBody(updated.site), 200);
  });

  app.get("/v1/sites/:site", async (c) => {
    guard.requireAdmin(c);
    const record = await requireSite(deps, c.req.param("site"));
    return json(siteBody(record.site), 200);
  });

  app.delete("/v1/sites/:site", async (c) => {
    guard.requireAdmin(c);
    const slug = c.req.param("site");
    await requireSite(deps, slug);
    await deps.store.deleteSite(slug);
    deps.log({ event: "site.deleted", site: slug });
    return c.body(null, 204);
  });

  app.post("/v1/sites/:site/rotate-secrets", async (c) => {
    guard.requireAdmin(c);
    const slug = c.req.param("site");
    const record = await requireSite(deps, slug);
    const now = deps.clock();
    const graceEnd = formatRfc3339(now + deps.config.secretGraceSeconds * 1000);
    const kept = liveCredentials(record.credentials, now).map((k) =>
      k.expires_at !== undefined && Date.parse(k.expires_at) < Date.parse(graceEnd) ? k : { ...k, expires_at: graceEnd },
    );
    const issued = await issueCredentials(deps, slug, now);
    const credentials = [issued.credential, ...kept].slice(0, MAX_CREDENTIALS);
    if (!(await deps.store.setCredentials(slug, credentials))) {
      throw new Problem(404, { detail: `There is no site named ${JSON.stringify(slug)}.` });
    }
    deps.log({ event: "site.secrets_rotated", site: slug });
    return json(JSON.stringify({ api_key: issued.api_key, webhook_secret: issued.webhook_secret, previous_valid_until: graceEnd }), 200);
  });
}
