import { toNextJsHandler } from "better-auth/next-js";

import { auth } from "../../../../lib/auth";
import { checkedRequest } from "../../../../lib/request-limits";

const handler = toNextJsHandler(auth);

export const { GET } = handler;

// Better Auth reads and parses the whole body: it gets one within the limit, of storable text.
export async function POST(request: Request): Promise<Response> {
  const checked = await checkedRequest(request);
  return checked instanceof Response ? checked : handler.POST(checked);
}
