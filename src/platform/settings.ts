// Setting parsers for every platform's entry (Node, Lambda, Workers): no Node-only imports.

export type Env = Record<string, string | undefined>;

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
