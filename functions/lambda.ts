// AWS Lambda entry point (template.yaml, bundled by `npm run build:lambda`): API Gateway HTTP APIs
// and function URLs. Builds the deps from the environment and serves createApp through
// hono/aws-lambda. Platform glue lives in src/platform/lambda.ts and src/platform/dynamodb.ts.

import { handle } from "hono/aws-lambda";
import { createApp } from "../src/http/app.ts";
import { createDynamoStoreFromEnv } from "../src/platform/dynamodb.ts";
import { lambdaDeps, settleAfter } from "../src/platform/lambda.ts";
import { withTimeouts } from "../src/store/guarded.ts";

// Every store call has a deadline; stalls and engine errors answer 503 (src/store/guarded.ts).
const store = withTimeouts(createDynamoStoreFromEnv(process.env), { timeoutMs: 5_000 });
const deps = lambdaDeps(process.env, store);
const app = createApp(deps);

// WebSub pings of this invocation finish before it returns (Lambda freezes what is left running).
export const handler = settleAfter(handle(app), deps.hubs);
