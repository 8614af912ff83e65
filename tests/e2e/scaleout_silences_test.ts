/**
 * Silences across agents (issue 24): a silence made while an agent was not running yet reaches it
 * when it joins (it reads the other agents' silences the first time it sees them in the cluster
 * map), so it mutes that agent's notifications too; a change whose fan-out missed an agent reaches
 * it when it reads the others' silences again. And the agents leave no consumer group of their
 * own behind (each reads the others' alerts in a group named after its instance, and deletes it
 * when it stops).
 */
import { Admin } from "@platformatic/kafka";
import assert from "node:assert/strict";
import { FORWARDED_HEADER } from "../../api/forward.ts";
import { BROKERS, eventually } from "../../testing/agent.ts";
import { AUTH, startAgents, stopAll } from "../../testing/scaleout.ts";

interface ListedSilence {
  id: string;
  status: { state: string };
  matchers: { name: string; value: string }[];
  endsAt: string;
  comment: string;
}

/** Makes a one-hour silence of `host` on the agent at `baseUrl`; its id. */
async function silenceHost(baseUrl: string, host: string, comment: string): Promise<string> {
  const now = Date.now();
  const posted = await fetch(`${baseUrl}/silences`, {
    method: "POST",
    headers: { ...AUTH, "Content-Type": "application/json" },
    body: JSON.stringify({
      matchers: [{ name: "host", value: host, isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: "test",
      comment,
    }),
  });
  assert.equal(posted.status, 200);
  return (await posted.json()).silenceID;
}

Deno.test("a silence made before a second agent started is on that agent once it joins", async () => {
  const run = await startAgents("silsync", 2, { later: 1 });
  try {
    const [a] = run.agents;
    const silenceID = await silenceHost(a.baseUrl, "late-h01", "made while alone");

    const [b] = await run.startLater();
    // Before it joined it had none: the silence it lists is the one A made, same id and end.
    const onB = await eventually(async () => {
      const response = await fetch(`${b.baseUrl}/silences`, { headers: AUTH });
      const silences: ListedSilence[] = await response.json();
      return silences.find((silence) => silence.id === silenceID);
    }, 60_000);
    const onA: ListedSilence[] = await (await fetch(`${a.baseUrl}/silences`, { headers: AUTH })).json();
    assert.deepEqual(onB, onA.find((silence) => silence.id === silenceID));
    assert.equal(onB.status.state, "active");
    assert.equal(onB.comment, "made while alone");

    // Expiring it on the joiner reaches the first agent (the fan-out that already existed).
    const expired = await fetch(`${b.baseUrl}/silences/${silenceID}`, { method: "DELETE", headers: AUTH });
    assert.equal(expired.status, 200);
    await expired.body?.cancel();
    await eventually(async () => {
      const silences: ListedSilence[] = await (await fetch(`${a.baseUrl}/silences`, { headers: AUTH }))
        .json();
      return silences.find((silence) => silence.id === silenceID)?.status.state === "expired" || undefined;
    }, 30_000);
    // A change whose fan-out missed an agent still reaches it: expired on B alone (marked forwarded,
    // so B does not pass it on), A takes it when it reads B's silences again (every 10 s).
    const secondId = await silenceHost(a.baseUrl, "late-h02", "expired on one agent only");
    const stateOn = async (baseUrl: string) => {
      const silences: ListedSilence[] = await (await fetch(`${baseUrl}/silences`, { headers: AUTH })).json();
      return silences.find((silence) => silence.id === secondId)?.status.state;
    };
    await eventually(async () => (await stateOn(b.baseUrl)) === "active" || undefined, 30_000, "on B");
    const alone = await fetch(`${b.baseUrl}/silences/${secondId}`, {
      method: "DELETE",
      headers: { ...AUTH, [FORWARDED_HEADER]: "1" },
    });
    assert.equal(alone.status, 200);
    assert.equal((await alone.json()).agents, undefined, "not fanned out");
    assert.equal(await stateOn(a.baseUrl), "active", "A has not been told");
    await eventually(
      async () => (await stateOn(a.baseUrl)) === "expired" || undefined,
      30_000,
      "A to take the expiry from B's silences",
    );
    // Both read the other's alerts, each in a group of its own ...
    const admin = new Admin({ clientId: "silsync-admin", bootstrapBrokers: [BROKERS], strict: false });
    try {
      const peerGroups = async () =>
        [...(await admin.listGroups()).keys()].filter((id) =>
          id.startsWith(run.name) && id.includes(".peer-alerts.")
        );
      await eventually(
        async () => (await peerGroups()).length === 2 || undefined,
        30_000,
        "two peer-alerts groups",
      );
      // ... which is gone once it stops.
      assert.deepEqual(await stopAll(run.agents), [0, 0]);
      // (deleted at the stop; should a delete fail, the broker drops it when the member's session ends)
      await eventually(
        async () => (await peerGroups()).length === 0 || undefined,
        30_000,
        "no peer-alerts group left",
      );
    } finally {
      await admin.close();
    }
  } finally {
    await stopAll(run.agents);
  }
});
