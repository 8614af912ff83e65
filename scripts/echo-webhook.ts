/**
 * A stand-in for a webhook receiver (n8n, Node-RED, ...): prints each notification the agent POSTs
 * (its Idempotency-Key and the payload) and answers 200. For trying alert delivery locally:
 *
 * ```sh
 * deno run --allow-net=127.0.0.1:5678 scripts/echo-webhook.ts        # port 5678, like n8n
 * deno run --allow-net=127.0.0.1:9000 scripts/echo-webhook.ts 9000
 * ```
 *
 * @module
 */
const port = Number(Deno.args[0] ?? "5678");
Deno.serve({ hostname: "127.0.0.1", port }, async (request) => {
  const text = await request.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch { /* not JSON: printed as text */ }
  const summary = typeof body === "object" && body !== null && "alerts" in body
    ? (body as {
      status: string;
      groupKey: string;
      alerts: { labels: Record<string, string>; status: string }[];
    })
    : undefined;
  console.log(
    `${new Date().toISOString()} ${request.method} ${new URL(request.url).pathname} ` +
      `Idempotency-Key: ${request.headers.get("idempotency-key") ?? "-"}` +
      (summary
        ? ` ${summary.status} ${summary.groupKey}: ${
          summary.alerts.map((a) => `${a.labels.alertname}/${a.labels.host}/${a.labels.severity} ${a.status}`)
            .join(", ")
        }`
        : ""),
  );
  console.log(JSON.stringify(body, null, 2));
  return new Response("ok\n");
});
