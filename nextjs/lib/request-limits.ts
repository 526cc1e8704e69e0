// Bad input is refused before it costs anything (docs/configuration.md, "Request limits"):
// a body over MAX_REQUEST_BODY_BYTES is a 413, text PostgreSQL cannot store (NUL, a lone
// surrogate) a 422, never a 500 from deep inside Better Auth or the database driver.
const DEFAULT_MAX_REQUEST_BODY_BYTES = 1024 * 1024;

export function maxRequestBodyBytes(): number {
  const configured = process.env.MAX_REQUEST_BODY_BYTES?.trim();
  if (!configured) {
    return DEFAULT_MAX_REQUEST_BODY_BYTES;
  }
  const bytes = Number(configured);
  if (!/^\d+$/.test(configured) || !Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new Error(`MAX_REQUEST_BODY_BYTES=${configured} is not a positive number of bytes (e.g. 1048576)`);
  }
  return bytes;
}

export function declaredTooLarge(request: Request): boolean {
  const declared = request.headers.get("content-length");
  return declared !== null && /^\d+$/.test(declared) && Number(declared) > maxRequestBodyBytes();
}

export function tooLarge(): Response {
  return Response.json(
    { message: "the request body is larger than this server accepts (MAX_REQUEST_BODY_BYTES)" },
    // The rest of the body is never read: the client must not send it on this connection.
    { status: 413, headers: { connection: "close" } },
  );
}

// The body, read up to the limit (a chunked one has no Content-Length to check first), or null.
async function readWithin(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!request.body) {
    return new Uint8Array();
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function storable(value: unknown): boolean {
  if (typeof value === "string") {
    return !value.includes("\u0000") && value.isWellFormed();
  }
  if (Array.isArray(value)) {
    return value.every(storable);
  }
  if (value !== null && typeof value === "object") {
    return Object.entries(value).every(([key, item]) => storable(key) && storable(item));
  }
  return true;
}

// The request again, its body read within the limit, or the refusal to answer with.
export async function checkedRequest(request: Request): Promise<Request | Response> {
  if (declaredTooLarge(request)) {
    return tooLarge();
  }
  const body = await readWithin(request, maxRequestBodyBytes());
  if (body === null) {
    return tooLarge();
  }
  if (request.headers.get("content-type")?.includes("json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch {
      parsed = undefined; // not JSON after all: the handler answers that itself
    }
    if (!storable(parsed)) {
      return Response.json(
        { message: "text with a NUL character (\\u0000) or a lone surrogate cannot be stored" },
        { status: 422 },
      );
    }
  }
  return new Request(request.url, { method: request.method, headers: request.headers, body });
}
