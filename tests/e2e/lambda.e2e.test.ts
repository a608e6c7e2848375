// The end-to-end suite against the AWS Lambda handler (functions/lambda.ts) on DynamoDB (dynalite),
// driven with real API Gateway HTTP API v2 events: tests/e2e/apigw-shim.ts, a child process, turns
// each HTTP request into the event API Gateway would send and writes the handler's result back.

import { freePort, spawnServer, waitForHealthy } from "../functions/server-process.ts";
import { e2eSuite, startDynaliteProcess, withoutAws, type StartServer } from "./contract.ts";

const startLambda: StartServer = async (settings) => {
  const dynalite = await startDynaliteProcess("nashir-e2e-lambda");
  const port = await freePort();
  const proc = spawnServer({
    script: "tests/e2e/apigw-shim.ts",
    port,
    // The function's settings only (template.yaml), no AWS settings: dummy credentials for dynalite.
    env: withoutAws({
      PORT: String(port),
      HOST: "127.0.0.1",
      NASHIR_DYNAMODB_ENDPOINT: dynalite.endpoint,
      NASHIR_DYNAMODB_TABLE: dynalite.table,
      NASHIR_BASE_URL: settings.baseUrl,
      NASHIR_ADMIN_TOKEN: settings.adminToken,
      NASHIR_STORE: undefined,
      NASHIR_DB: undefined,
    }),
  });
  await waitForHealthy(proc);
  return {
    origin: proc.origin,
    baseUrl: settings.baseUrl,
    adminToken: settings.adminToken,
    proc,
    cleanup: () => {
      proc.kill();
      dynalite.proc.kill();
    },
  };
};

e2eSuite("AWS Lambda handler (API Gateway v2 events, DynamoDB on dynalite)", startLambda);
