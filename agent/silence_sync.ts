/**
 * Silences across agents. A silence made on one agent reaches the others at once (the API fans the
 * `POST /silences` out with one id); an agent that joins later, or was down meanwhile, takes the
 * silences each other agent holds the first time it sees that agent in the cluster map, and again
 * every {@link RESYNC_MS}, newest version winning (`Notifier.mergeSilences`). Without the first
 * read, a silence made before a second agent started would not mute that agent's notifications;
 * without the later ones, a change whose fan-out missed an agent (a peer answering slowly during a
 * rebalance or a topology switch, a map read empty for a moment) would never reach it.
 *
 * @module
 */
import { z } from "zod";
import { FORWARDED_HEADER } from "../api/forward.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import { GettableSilenceSchema } from "../model/notification.ts";
import type { Notifier } from "../notify/notifier.ts";
import type { ClusterMembership } from "./cluster.ts";

const PeerSilencesSchema = z.array(GettableSilenceSchema);

/** Each other agent's silences are read again this often (anti-entropy for missed fan-outs). */
export const RESYNC_MS = 10_000;

/** Reads `GET {url}/silences` of another agent (marked forwarded, with this agent's token). */
async function peerSilences(config: Config, url: string): Promise<z.output<typeof PeerSilencesSchema>> {
  const headers = new Headers({ [FORWARDED_HEADER]: "1", Accept: "application/json" });
  if (config.http.token !== "") headers.set("Authorization", `Bearer ${config.http.token}`);
  const response = await fetch(`${url}/silences`, {
    headers,
    signal: AbortSignal.timeout(config.http.forward_timeout),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${url}/silences: ${response.status}`);
  }
  return PeerSilencesSchema.parse(await response.json());
}

/**
 * Takes the silences of each agent `cluster` shows: when it first appears, then every
 * {@link RESYNC_MS} (at once again after a failed read).
 */
export function syncSilencesFromPeers(
  config: Config,
  notifier: Notifier,
  cluster: ClusterMembership,
  log: Logger,
): void {
  /** When each agent's silences were last taken. */
  const syncedAt = new Map<string, number>();
  const reading = new Set<string>();
  cluster.onRead((membership) => {
    for (const url of membership.peers()) {
      const last = syncedAt.get(url);
      if (reading.has(url) || (last !== undefined && Date.now() - last < RESYNC_MS)) continue;
      reading.add(url);
      peerSilences(config, url)
        .then((silences) => notifier.mergeSilences(silences))
        .then((taken) => {
          syncedAt.set(url, Date.now());
          if (taken > 0) log.info("took silences from another agent", { from: url, silences: taken });
        })
        .catch((error) => log.debug("could not read another agent's silences", { url, error }))
        .finally(() => reading.delete(url));
    }
  });
}
