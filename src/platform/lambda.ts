// Lambda-only glue for functions/lambda.ts: configuration from the environment, node:zlib codings,
// the client address from the event, and the handler that lets WebSub pings finish before the
// invocation ends (Lambda has no waitUntil: work left running after the return is frozen).
// Works for API Gateway HTTP APIs (payload 2.0), REST APIs (1.0) and function URLs, through
// hono/aws-lambda: request bodies sent base64 (binary, compressed) are decoded, and responses
// with a Content-Encoding (gzip, br) go back base64 with isBase64Encoded.

import type { Context } from "hono";
import { getConnInfo, type LambdaContext, type LambdaEvent } from "hono/aws-lambda";
import type { AppConfig, AppDeps, Compressor } from "../http/deps.ts";
import { createMemoryFeedCache } from "../store/cache/memory.ts";
import type { Store } from "../store/port.ts";
import { allocateBody, cryptoRandom, nodeDigests, jsonLineLog, zlibCompress } from "./node-runtime.ts";
import { baseUrlSetting, integerSetting, type Env } from "./settings.ts";
import { createAttemptNotifier, type AttemptNotifier } from "./websub.ts";


/** A setting that is missing or malformed: the function fails at init and the log says which. */
export class LambdaConfigError extends Error {
  override readonly name = "LambdaConfigError";
}

export function readLambdaConfig(env: Env): AppConfig {
  const fail = (message: string) => new LambdaConfigError(message);
  const baseUrl = baseUrlSetting(env.NASHIR_BASE_URL ?? "", fail);
  const adminToken = env.NASHIR_ADMIN_TOKEN ?? "";
  if (adminToken.length < 16) throw fail("NASHIR_ADMIN_TOKEN must be set (at least 16 characters).");
  const secretGraceSeconds = integerSetting(env, "NASHIR_SECRET_GRACE_SECONDS", 86_400, 0, 365 * 86_400, fail);
  return { baseUrl, adminToken, secretGraceSeconds };
}

/** node:zlib is there in Lambda, so the Node server's codings apply. */
export const lambdaCompress: Compressor = zlibCompress;

export const LAMBDA_CODINGS: AppDeps["codings"] = ["br", "gzip"];

/** The caller's address as API Gateway or the function URL saw it (requestContext sourceIp). */
export function lambdaClientId(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown"; // not called through the Lambda adapter
  }
}

export const lambdaRandom = cryptoRandom;

/** One JSON line per event (CloudWatch Logs). */
export const lambdaLog = jsonLineLog;

/** The deps on Lambda; `hubs` is the notifier the handler waits for. */
export type LambdaDeps = AppDeps & { hubs: AttemptNotifier };

/** Everything createApp needs on Lambda, around the given store (tests may override the clock). */
export function lambdaDeps(env: Env, store: Store, overrides: Partial<Pick<AppDeps, "clock" | "log">> = {}): LambdaDeps {
  const log = overrides.log ?? lambdaLog;
  return {
    store,
    clock: overrides.clock ?? Date.now,
    config: readLambdaConfig(env),
    random: lambdaRandom,
    // Per execution environment: it lives as long as the warm container, keyed by site version.
    feedCache: createMemoryFeedCache({ maxBytes: 32 * 1024 * 1024, maxEntries: 5_000 }),
    codings: LAMBDA_CODINGS,
    compress: lambdaCompress,
    allocate: allocateBody,
    digests: nodeDigests,
    clientId: lambdaClientId,
    log,
    hubs: createAttemptNotifier({ log }),
  };
}

type Handler<R> = (event: LambdaEvent, context?: LambdaContext) => Promise<R>;

/**
 * The exported handler: the app's answer, returned once every WebSub ping started by this
 * invocation has settled (at most 3 attempts per hub, 18 s; see the README's WebSub section).
 */
export function settleAfter<R>(handler: Handler<R>, hubs: AttemptNotifier): Handler<R> {
  return async (event, context) => {
    try {
      return await handler(event, context);
    } finally {
      await hubs.settled();
    }
  };
}
