// The load generator of section 5 (publish throughput): signed Standard Webhooks POSTs, made cheap
// so that the client takes as little as it can of the two cores it shares with the server. Every
// request is still a unique webhook (a random webhook-id), signed at send time with a fresh
// timestamp, and verified by the server like any other. node:crypto signs synchronously from the
// secret's bytes decoded once; Web Crypto (signWebhook) imported the key and went through a promise
// job for every request, several times the client's CPU per publish.

import { createHmac, randomBytes } from "node:crypto";
import { signWebhook } from "../src/core/auth.ts";
import { rawRequest, type RawResponse } from "./http.ts";

/** Signs `{id}.{timestamp}.{body}` under a `whsec_` secret: the Standard Webhooks signature header. */
export function webhookSigner(secret: string): (id: string, timestamp: string, body: string) => string {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
  return (id, timestamp, body) => `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body, "utf8").digest("base64")}`;
}

/** Throws unless the signer gives the header the project's own signWebhook gives (checked before a run). */
export async function checkSigner(secret: string): Promise<void> {
  const body = JSON.stringify({ title: "نيسان" });
  const expected = await signWebhook(secret, "msg_check", "1718797740", new TextEncoder().encode(body));
  const actual = webhookSigner(secret)("msg_check", "1718797740", body);
  if (actual !== expected) throw new Error(`the bench's webhook signer disagrees with signWebhook: ${actual} vs ${expected}`);
}

/** A publisher for one site: POSTs `body` as a new signed webhook and answers the response. */
export function webhookPublisher(origin: string, path: string, secret: string): (body: string) => Promise<RawResponse & { ms: number }> {
  const sign = webhookSigner(secret);
  return (body) => {
    const id = `msg_${randomBytes(8).toString("hex")}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    return rawRequest(origin, path, {
      method: "POST",
      headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": sign(id, timestamp, body) },
      body,
    });
  };
}
