// Cloudflare Workers entry point (wrangler.toml `main`): builds the deps from the bindings and
// serves createApp. Platform glue lives in src/platform/worker.ts.

import { createApp } from "../src/http/app.ts";
import { serveWorker, workerDeps } from "../src/platform/worker.ts";
import { createD1Store } from "../src/store/d1.ts";
import { withTimeouts } from "../src/store/guarded.ts";

// Every store call has a deadline; stalls and engine errors answer 503 (src/store/guarded.ts).
export default serveWorker((env) => createApp(workerDeps(env, withTimeouts(createD1Store(env.DB), { timeoutMs: 5_000 }))));
