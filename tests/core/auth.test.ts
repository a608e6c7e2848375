import { describe, expect, it } from "vitest";
import { apiKeySite, checkTimestamp, constantTimeEqual, createSignatureVerifier, fromBase64, newApiKey, newWebhookSecret, sha256Hex, signWebhook, signatureMatches } from "../../src/core/auth.ts";
import { randomBytes, createHmac } from "node:crypto";
import { nodeDigests } from "../../src/platform/node-runtime.ts";

const random = (n: number) => new Uint8Array(randomBytes(n));
const body = new TextEncoder().encode('{"id":"a"}');

describe("credentials", () => {
  it("issues Standard Webhooks secrets of 32 random bytes", () => {
    const secret = newWebhookSecret(random);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(fromBase64(secret.slice(6))?.length).toBe(32);
    expect(newWebhookSecret(random)).not.toBe(secret);
  });

  it("names the site in API keys", () => {
    const key = newApiKey("nisan", random);
    expect(apiKeySite(key)).toBe("nisan");
    expect(apiKeySite("nsr_nisan_short")).toBeUndefined();
    expect(apiKeySite("garbage")).toBeUndefined();
  });

  it("compares strings fully", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
  });
});

describe("signatures", () => {
  it("matches an independent HMAC computed with node:crypto", async () => {
    const secret = newWebhookSecret(random);
    const expected = createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`msg_1.1718797740.${new TextDecoder().decode(body)}`).digest("base64");
    expect(await signWebhook(secret, "msg_1", "1718797740", body)).toBe(`v1,${expected}`);
    expect(await signatureMatches(secret, { id: "msg_1", timestamp: "1718797740", signature: `v1,${expected}`, body })).toBe(true);
  });

  it("accepts one matching value among several and refuses tampering", async () => {
    const secret = newWebhookSecret(random);
    const good = await signWebhook(secret, "msg_2", "100", body);
    const other = await signWebhook(newWebhookSecret(random), "msg_2", "100", body);
    expect(await signatureMatches(secret, { id: "msg_2", timestamp: "100", signature: `${other} ${good}`, body })).toBe(true);
    expect(await signatureMatches(secret, { id: "msg_2", timestamp: "101", signature: good, body })).toBe(false);
    expect(await signatureMatches(secret, { id: "msg_3", timestamp: "100", signature: good, body })).toBe(false);
    expect(await signatureMatches(secret, { id: "msg_2", timestamp: "100", signature: good, body: new TextEncoder().encode('{"id":"b"}') })).toBe(false);
    expect(await signatureMatches(secret, { id: "msg_2", timestamp: "100", signature: good.replace("v1,", "v2,"), body })).toBe(false);
    expect(await signatureMatches(secret, { id: "msg_2", timestamp: "100", signature: "v1,!!!", body })).toBe(false);
  });

  it("node:crypto digests give the bytes Web Crypto gives", async () => {
    for (const data of [new Uint8Array(0), body, new TextEncoder().encode("نيسان".repeat(1000))]) {
      expect(nodeDigests.sha256Hex(data)).toBe(await sha256Hex(data));
    }
  });

  for (const [name, digests] of [["Web Crypto", undefined], ["node:crypto digests", nodeDigests]] as const) {
    it(`a verifier that keeps imported keys answers as signatureMatches does, for every secret and past its bound (${name})`, async () => {
      const verify = createSignatureVerifier(digests, 2);
      const secrets = [newWebhookSecret(random), newWebhookSecret(random), newWebhookSecret(random)];
      const signatures = await Promise.all(secrets.map((s) => signWebhook(s, "msg_4", "100", body)));
      for (let round = 0; round < 2; round++) {
        for (const [i, secret] of secrets.entries()) {
          for (const [j, signature] of signatures.entries()) {
            const request = { id: "msg_4", timestamp: "100", signature, body };
            expect(await verify(secret, request)).toBe(i === j);
            expect(await verify(secret, { ...request, timestamp: "101" })).toBe(false);
          }
        }
      }
      expect(await verify("whsec_not base64!", { id: "msg_4", timestamp: "100", signature: signatures[0]!, body })).toBe(false);
      // Several offered values, tampered ones, other versions.
      const good = signatures[1]!;
      const request = { id: "msg_4", timestamp: "100", body };
      expect(await verify(secrets[1]!, { ...request, signature: `${signatures[0]!} ${good}` })).toBe(true);
      expect(await verify(secrets[1]!, { ...request, signature: good.replace("v1,", "v2,") })).toBe(false);
      expect(await verify(secrets[1]!, { ...request, signature: "v1,!!!" })).toBe(false);
      expect(await verify(secrets[1]!, { ...request, signature: "" })).toBe(false);
      expect(await verify(secrets[1]!, { ...request, body: new TextEncoder().encode('{"id":"b"}'), signature: good })).toBe(false);
    });
  }

  it("allows five minutes of clock skew either way", () => {
    const now = 1_718_797_740_000;
    expect(checkTimestamp("1718797740", now).ok).toBe(true);
    expect(checkTimestamp(String(1_718_797_740 - 299), now).ok).toBe(true);
    expect(checkTimestamp(String(1_718_797_740 + 299), now).ok).toBe(true);
    expect(checkTimestamp(String(1_718_797_740 - 301), now).ok).toBe(false);
    expect(checkTimestamp(String(1_718_797_740 + 301), now).ok).toBe(false);
    expect(checkTimestamp("1e9", now).ok).toBe(false);
  });
});
