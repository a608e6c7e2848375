// Node runtime pieces shared by the Node server and Lambda.

import { describe, expect, it } from "vitest";
import { allocateBody } from "../../src/platform/node-runtime.ts";

describe("allocateBody", () => {
  it("gives each body its own buffer of exactly the asked size (never a slice of a shared pool)", () => {
    for (const size of [0, 1, 100, 4_096, 300_000]) {
      const a = allocateBody(size);
      const b = allocateBody(size);
      expect(a.byteLength).toBe(size);
      expect(a.byteOffset).toBe(0);
      expect(a.buffer.byteLength).toBe(size);
      expect(a.buffer).not.toBe(b.buffer);
      a.fill(1);
      b.fill(2);
      expect(a.every((byte) => byte === 1)).toBe(true);
    }
  });
});
