// Site-version reads shared by the requests handled in one event-loop turn (Node).
//
// Every feed request reads its site's version (one point read) to choose between a 304, cached
// bytes and a rebuild. Under load a Node server handles many requests per turn of its event loop,
// all of which had arrived when the turn's poll delivered them, before any read of the turn: one
// read made during the turn is a valid answer for each of them (it happened after each one arrived
// and before each one is answered), so they share it. The shared read is forgotten when the turn ends, so a request of a later turn always
// reads again, and every write made through this store forgets it at once, when the write starts
// and again when it settles, so no request answered after a write sees the version from before it.
//
// `endOfTurn` schedules a callback after the requests of the current turn (Node: setImmediate,
// which runs after the poll phase that delivered them). Cost: one entry per site read this turn.
//
// `versionNow` gives a shared read that has already settled, synchronously, so a server can
// answer the later requests of the turn without waiting a promise turn of its own.

import type { SiteVersion, Store } from "./port.ts";

export interface TurnReadStore extends Store {
  /** The version read this turn and settled: null when there is no such site, undefined when not known now. */
  versionNow(slug: string): SiteVersion | null | undefined;
}

export function withTurnVersionReads(store: Store, endOfTurn: (forget: () => void) => void): TurnReadStore {
  const reads = new Map<string, Promise<SiteVersion | undefined>>();
  const settled = new Map<string, SiteVersion | null>();
  let scheduled = false;
  const clear = () => {
    reads.clear();
    settled.clear();
  };
  const forget = () => {
    scheduled = false;
    clear();
  };

  /** A call that may change a version: the shared reads are forgotten before and after it. */
  const write =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      clear();
      let pending: Promise<R>;
      try {
        pending = fn.apply(store, args);
      } catch (error) {
        return Promise.reject(error);
      }
      const settle = () => clear();
      pending.then(settle, settle);
      return pending;
    };
  const read =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      fn.apply(store, args);

  return {
    getSiteVersion(slug) {
      const shared = reads.get(slug);
      if (shared !== undefined) return shared;
      const fresh = store.getSiteVersion(slug);
      reads.set(slug, fresh);
      fresh.then(
        (version) => {
          // Only while this read is still the shared one (a write since then forgot it).
          if (reads.get(slug) === fresh) settled.set(slug, version ?? null);
        },
        () => {
          // A failed read is not shared beyond the requests that already hold it.
          if (reads.get(slug) === fresh) reads.delete(slug);
        },
      );
      if (!scheduled) {
        scheduled = true;
        endOfTurn(forget);
      }
      return fresh;
    },
    versionNow: (slug) => settled.get(slug),
    getSite: read(store.getSite),
    getArticle: read(store.getArticle),
    listArticles: read(store.listArticles),
    rangeFingerprint: read(store.rangeFingerprint),
    listTombstones: read(store.listTombstones),
    ping: read(store.ping),
    createSite: write(store.createSite),
    updateSite: write(store.updateSite),
    setCredentials: write(store.setCredentials),
    deleteSite: write(store.deleteSite),
    putArticle: write(store.putArticle),
    deleteArticle: write(store.deleteArticle),
    pruneTombstones: write(store.pruneTombstones),
    claimWebhook: write(store.claimWebhook),
    completeWebhook: write(store.completeWebhook),
    releaseWebhook: write(store.releaseWebhook),
    pruneWebhooks: write(store.pruneWebhooks),
    close: write(store.close),
  };
}
