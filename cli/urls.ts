/**
 * `eventops urls`: where the agent serves its dashboard and API, on this machine and, when it listens
 * on all interfaces or a LAN address, from the local network; with a warning when it listens on all
 * interfaces without an API token (anyone on the network reads everything it serves).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { hostPart, type InterfaceAddress, isLoopback, reachable, WILDCARDS } from "../lib/net_address.ts";

export type { InterfaceAddress };

/** The URLs of one base address. */
export interface AgentUrls {
  ui: string;
  api: string;
  alerts: string;
  metrics: string;
}

/** The URLs under a base (`http://host:port`). */
export function urlsAt(base: string): AgentUrls {
  return {
    ui: `${base}/`,
    api: `${base}/metrics/cpu?tenant=acme&host=host-a`,
    alerts: `${base}/alerts/stream`,
    metrics: `${base}/prometheus`,
  };
}

/** What `urls` prints: the local URLs, the network ones, and a warning (pure, for tests). */
export function urlsReport(
  config: Config,
  interfaces: readonly InterfaceAddress[],
): { local: AgentUrls; network: AgentUrls[]; warning?: string } {
  const { host, port } = config.http;
  const wildcard = WILDCARDS.has(host);
  const local = urlsAt(`http://${wildcard || isLoopback(host) ? "localhost" : hostPart(host)}:${port}`);
  const ipv6Too = host === "::" || host === "[::]";
  const network = wildcard
    ? interfaces.filter((entry) => reachable(entry) && (entry.family === "IPv4" || ipv6Too))
      .map((entry) => urlsAt(`http://${hostPart(entry.address)}:${port}`))
    : [];
  const warning = wildcard && config.http.token === ""
    ? `eventops urls: warning: the agent listens on all interfaces (http.host ${host}) without an API token: ` +
      "anyone on the network can read its metrics, alerts and events. Set EVENTOPS_HTTP_TOKEN (http.token; " +
      "http.token_for_reads: true to protect reads), or listen on loopback only (EVENTOPS_HTTP_HOST=127.0.0.1)"
    : undefined;
  return { local, network, warning };
}

function print(urls: AgentUrls): void {
  console.log(`dashboard   ${urls.ui}`);
  console.log(`metrics API ${urls.api}`);
  console.log(`alerts SSE  ${urls.alerts}`);
  console.log(`prometheus  ${urls.metrics}`);
}

/** Prints the URLs; the warning goes to stderr. */
export function urlsCommand(config: Config): void {
  let interfaces: InterfaceAddress[] = [];
  try {
    interfaces = Deno.networkInterfaces();
  } catch {
    // without the permission or on a platform without it: the local URLs only
  }
  const report = urlsReport(config, interfaces);
  print(report.local);
  for (const urls of report.network) {
    console.log("");
    console.log(`from the local network (${new URL(urls.ui).host}):`);
    print(urls);
  }
  if (report.warning) console.error(report.warning);
}
