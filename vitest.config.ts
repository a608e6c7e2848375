import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // An odd, DST-observing, half-hour zone: no test may depend on the machine's zone.
    env: { TZ: "Australia/Adelaide" },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
