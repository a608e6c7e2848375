// A deadline on every store call. Wrapped around any adapter by the platform entry points, so that
// a stalled or failing engine becomes StoreUnavailableError (503 + Retry-After) and never a hung
// request or a 500.
//
// What is translated and what is not:
// - a call that has not settled after `timeoutMs` fails with StoreUnavailableError. The engine's
//   own call is not cancelled (no engine offers that reliably): a write that was already on its way
//   may still land. The client was told 503 and will retry, and every write is safe to retry (an
//   upsert by id that keeps the newest `updated_at`, or a replay by webhook-id), so the outcome is
//   the same as if the first attempt had been answered.
// - any other error thrown by the engine (SQLite BUSY or IOERR, a DynamoDB network error, an
//   adapter's precondition that a concurrent delete broke) becomes StoreUnavailableError, with the
//   original as `cause`: the request may well succeed when retried, so 503 is the honest answer.
// - programming errors (TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError)
//   pass through unchanged and are answered 500. They are bugs: a retry cannot help, and a 503
//   would hide them behind "try again later" while clients retry forever.
//
// Synchronous engines (node:sqlite) finish inside the call, before the timer can fire, so on Node
// the deadline only matters for async engines; the error translation matters everywhere.

import { StoreUnavailableError, type Store } from "./port.ts";

export interface GuardOptions {
  /** Longest a store call may take before it fails with StoreUnavailableError. */
  timeoutMs: number;
}

const PROGRAMMING_ERRORS: readonly (new (...args: never[]) => Error)[] = [
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
];

/** True for errors that mean a bug in the caller or the adapter, not an engine that cannot answer. */
export function isProgrammingError(error: unknown): boolean {
  return PROGRAMMING_ERRORS.some((kind) => error instanceof kind);
}

function translate(name: string, error: unknown): unknown {
  if (error instanceof StoreUnavailableError || isProgrammingError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`store.${name} failed: ${message}`, { cause: error });
}

/** `store` with a deadline and error translation on every call (see the top of this file). */
export function withTimeouts(store: Store, options: GuardOptions): Store {
  const { timeoutMs } = options;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new RangeError("timeoutMs must be a positive integer");

  const guard = <T>(name: string, call: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(new StoreUnavailableError(`store.${name} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error) {
        pending = Promise.reject(error);
      }
      // Both handlers are always attached: a call that settles after its deadline is ignored,
      // never an unhandled rejection.
      pending.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(translate(name, error));
        },
      );
    });

  /** The same method, guarded; `fn` is called with the store as `this`. */
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      guard(name, () => fn.apply(store, args));

  return {
    getSite: wrap("getSite", store.getSite),
    getSiteVersion: wrap("getSiteVersion", store.getSiteVersion),
    createSite: wrap("createSite", store.createSite),
    updateSite: wrap("updateSite", store.updateSite),
    setCredentials: wrap("setCredentials", store.setCredentials),
    deleteSite: wrap("deleteSite", store.deleteSite),
    getArticle: wrap("getArticle", store.getArticle),
    putArticle: wrap("putArticle", store.putArticle),
    deleteArticle: wrap("deleteArticle", store.deleteArticle),
    listArticles: wrap("listArticles", store.listArticles),
    rangeFingerprint: wrap("rangeFingerprint", store.rangeFingerprint),
    listTombstones: wrap("listTombstones", store.listTombstones),
    pruneTombstones: wrap("pruneTombstones", store.pruneTombstones),
    claimWebhook: wrap("claimWebhook", store.claimWebhook),
    completeWebhook: wrap("completeWebhook", store.completeWebhook),
    releaseWebhook: wrap("releaseWebhook", store.releaseWebhook),
    pruneWebhooks: wrap("pruneWebhooks", store.pruneWebhooks),
    ping: wrap("ping", store.ping),
    close: wrap("close", store.close),
  };
}
