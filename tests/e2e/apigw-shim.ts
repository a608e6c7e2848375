// Test-only stand-in for API Gateway (HTTP API, payload format 2.0) in front of the deployed Lambda
// handler (functions/lambda.ts), as a child process: `node tests/e2e/apigw-shim.ts` with PORT,
// HOST and the function's own settings (NASHIR_BASE_URL, NASHIR_ADMIN_TOKEN,
// NASHIR_DYNAMODB_ENDPOINT, NASHIR_DYNAMODB_TABLE) in the environment.
//
// It holds no application logic: each HTTP request becomes the v2 event API Gateway would send
// (route `$default`, stage `$default`), passed through JSON as the Lambda runtime passes it, with a
// minimal Lambda context; the result goes back as API Gateway writes it (statusCode, headers,
// multiValueHeaders, cookies as Set-Cookie, the body decoded from base64 when isBase64Encoded).
// One invocation at a time, like a single warm execution environment.

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { APIGatewayProxyResult, LambdaContext, LambdaEvent } from "hono/aws-lambda";
import { handler } from "../../functions/lambda.ts";

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "127.0.0.1";
/** The function's configured timeout (template.yaml), for getRemainingTimeInMillis. */
const TIMEOUT_MS = 30_000;
const ACCOUNT = "123456789012";
const API_ID = "nashirshim";
const FUNCTION_NAME = "nashir";

/** Content types API Gateway and function URLs pass as text; anything else goes base64. */
function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return (
    type.startsWith("text/") ||
    type === "application/json" ||
    type.endsWith("+json") ||
    type === "application/xml" ||
    type.endsWith("+xml") ||
    type === "application/javascript" ||
    type === "application/x-www-form-urlencoded"
  );
}

function utf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** The API Gateway HTTP API v2 event for this request, as JSON text. */
function toEvent(req: IncomingMessage, body: Buffer): string {
  const target = req.url ?? "/";
  const q = target.indexOf("?");
  const rawPath = q === -1 ? target : target.slice(0, q);
  const rawQueryString = q === -1 ? "" : target.slice(q + 1);
  const sourceIp = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  const now = Date.now();
  const requestId = randomUUID();

  // Header names lower-cased, repeated headers joined with commas; cookies go in their own list.
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? "").toLowerCase();
    const value = req.rawHeaders[i + 1] ?? "";
    if (name === "cookie") {
      cookies = [...(cookies ?? []), ...value.split(/;\s*/).filter((c) => c !== "")];
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  // What API Gateway adds in front of the integration (TLS ends at API Gateway).
  headers["x-forwarded-for"] = headers["x-forwarded-for"] ? `${headers["x-forwarded-for"]}, ${sourceIp}` : sourceIp;
  headers["x-forwarded-proto"] = "https";
  headers["x-forwarded-port"] = "443";
  headers["x-amzn-trace-id"] = `Root=1-${Math.floor(now / 1000).toString(16)}-${requestId.replace(/-/g, "").slice(0, 24)}`;
  const domainName = (headers.host ?? `${API_ID}.execute-api.us-east-1.amazonaws.com`).replace(/:\d+$/, "");

  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString !== "") {
    queryStringParameters = {};
    for (const [k, v] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[k] = k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
    }
  }

  let eventBody: { body: string; isBase64Encoded: boolean } | { isBase64Encoded: false } = { isBase64Encoded: false };
  if (body.byteLength > 0) {
    const text = isTextual(headers["content-type"]) ? utf8(body) : undefined;
    eventBody = text === undefined ? { body: body.toString("base64"), isBase64Encoded: true } : { body: text, isBase64Encoded: false };
  }

  return JSON.stringify({
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    ...(cookies === undefined ? {} : { cookies }),
    headers,
    ...(queryStringParameters === undefined ? {} : { queryStringParameters }),
    requestContext: {
      accountId: ACCOUNT,
      apiId: API_ID,
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method: req.method ?? "GET",
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...eventBody,
  });
}

function lambdaContext(): LambdaContext {
  const deadline = Date.now() + TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: FUNCTION_NAME,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${FUNCTION_NAME}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${FUNCTION_NAME}`,
    logStreamName: `shim/[$LATEST]${randomUUID().replace(/-/g, "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Connection-level headers a proxy never forwards as they are. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

function writeResult(req: IncomingMessage, res: ServerResponse, result: APIGatewayProxyResult): void {
  const out = new Map<string, string[]>();
  const add = (name: string, values: string[]) => {
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key)) return;
    out.set(key, [...(out.get(key) ?? []), ...values]);
  };
  for (const [name, value] of Object.entries(result.headers ?? {})) add(name, Array.isArray(value) ? value : [value]);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) add(name, values);
  if (result.cookies !== undefined && result.cookies.length > 0) add("set-cookie", result.cookies);

  const body = result.isBase64Encoded ? Buffer.from(result.body ?? "", "base64") : Buffer.from(result.body ?? "", "utf8");
  // API Gateway sends the length of what it sends; a HEAD answer keeps the function's own.
  if (req.method !== "HEAD") out.set("content-length", [String(body.byteLength)]);
  res.statusCode = result.statusCode;
  for (const [name, values] of out) res.setHeader(name, values.length === 1 ? (values[0] ?? "") : values);
  res.end(req.method === "HEAD" ? undefined : body);
}

function internalError(res: ServerResponse): void {
  const body = JSON.stringify({ message: "Internal Server Error" });
  res.writeHead(500, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
  res.end(body);
}

let queue: Promise<void> = Promise.resolve();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const event = toEvent(req, Buffer.concat(chunks));
    queue = queue.then(async () => {
      try {
        // Through JSON both ways, as the Lambda runtime API carries them.
        const result = await handler(JSON.parse(event) as LambdaEvent, lambdaContext());
        writeResult(req, res, JSON.parse(JSON.stringify(result)) as APIGatewayProxyResult);
      } catch (error) {
        process.stderr.write(`invocation failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        internalError(res);
      }
    });
  });
});

server.listen(port, host, () => {
  process.stdout.write(`API Gateway v2 shim for functions/lambda.ts on http://${host}:${port}\n`);
});

const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
