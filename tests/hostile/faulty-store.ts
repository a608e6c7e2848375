// A fault-injecting wrapper around a real store (tests only): any method can be made to fail, to
// stall until released, or to do its work and then lose the answer. Everything else goes straight
// through to the real engine.

import type { Store } from "../../src/store/port.ts";

export type StoreMethod = { [K in keyof Store]: Store[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof Store];

export type Fault =
  /** Rejects at once with this error (a plain Error by default: an engine failure). */
  | { kind: "fail"; error?: () => unknown }
  /** Never settles until `release()` (the real method is not called). */
  | { kind: "stall" }
  /** Calls the real method, then rejects: the engine did the work but the answer was lost. */
  | { kind: "lose-answer" };

export interface FaultyStore {
  store: Store;
  /** Injects a fault into one method, or "*" for every method but close. */
  inject(method: StoreMethod | "*", fault: Fault): void;
  /** Removes every fault; stalled calls stay stalled until release(). */
  heal(): void;
  /** Settles every stalled call with an error (as a dropped connection would). */
  release(): void;
  /** Calls seen, in order. */
  calls: string[];
}

export function faultyStore(real: Store): FaultyStore {
  const faults = new Map<string, Fault>();
  const stalled: ((error: Error) => void)[] = [];
  const calls: string[] = [];

  const store = new Proxy(real, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function" || typeof prop !== "string") return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]): Promise<unknown> => {
        calls.push(prop);
        const fault = faults.get(prop) ?? (prop === "close" ? undefined : faults.get("*"));
        if (fault === undefined) return method.apply(target, args);
        if (fault.kind === "fail") return Promise.reject(fault.error ? fault.error() : new Error(`injected failure in ${prop}`));
        if (fault.kind === "stall") return new Promise((_, reject) => stalled.push(reject));
        return method.apply(target, args).then(() => Promise.reject(new Error(`injected: ${prop} answer lost`)));
      };
    },
  });

  return {
    store,
    inject(method, fault) {
      faults.set(method, fault);
    },
    heal() {
      faults.clear();
    },
    release() {
      for (const reject of stalled.splice(0)) reject(new Error("stalled call dropped"));
    },
    calls,
  };
}
