/**
 * Scale-out reads (issue 24) through the real broker: two agents in the same groups split the
 * `events.enriched` partitions, each stores half of the 24 series, and either answers for all of them:
 * the same catalog (fanned out and merged), the same points of every series (gathered from both: a
 * series' rows stay with a former owner after a live rebalance), the same alerts. With one agent killed, before the group rebalances, the
 * other says so: the catalog is `partial` and names it, a series it owned answers a JSON 503 naming it.
 */
import assert from "node:assert/strict";
import { eventually, type RunningAgent } from "../../testing/agent.ts";
import {
  AUTH,
  clusterSettled,
  CRITICAL_TRANSITIONS,
  getJson as json,
  HOSTS,
  produceHosts,
  startAgents,
  STILL_FIRING,
  sumOf,
  valuesOf,
} from "../../testing/scaleout.ts";
import { type SseEvent, streamSse } from "../../testing/sse.ts";

Deno.test("scale-out reads: two agents answer the same catalog, series and alerts; one down is said", async () => {
  const run = await startAgents("scaleout", 2);
  const a = run.agents[0];
  let b: RunningAgent | undefined = run.agents[1];
  try {
    const agents = run.urls;
    // Both in the stateful group, each owning a part of the enriched topic, each knowing the other and
    // reading its alerts.
    const clusters = await clusterSettled(agents);
    for (const [index, cluster] of clusters.entries()) {
      assert.equal(cluster.self, agents[index]);
      assert.deepEqual(
        cluster.view!.members.map((member) => member.url).sort(),
        [...agents].sort(),
        "each agent advertises its address in the group",
      );
      assert.equal(cluster.view!.members.filter((member) => member.self).length, 1);
    }

    // Each agent's alert stream carries the other's alerts too.
    const streams = new AbortController();
    const streamed: SseEvent[][] = [[], []];
    const streaming = agents.map((url, index) =>
      streamSse(`${url}/alerts/stream?severity=critical`, streams.signal, (event) => {
        if (event.event === "alert") streamed[index].push(event);
      }, AUTH)
    );

    // Events: the stream of one series, opened on either agent, is the owner's (relayed); a stream over
    // many series is this agent's only, and its first event says so.
    const eventStreams = new AbortController();
    const seriesEvents: SseEvent[][] = [[], []];
    const scopes: SseEvent[][] = [[], []];
    const watchedHost = HOSTS[0];
    const opened: (string | null)[] = [];
    const eventStreaming = agents.flatMap((url, index) => [
      streamSse(
        `${url}/events/stream?tenant=so&host=${watchedHost}&metric=cpu`,
        eventStreams.signal,
        (event) => {
          if (event.event === "event") seriesEvents[index].push(event);
        },
        AUTH,
        (response) => opened.push(response.headers.get("X-EventOps-Served-By")),
      ),
      streamSse(`${url}/events/stream?tenant=so`, eventStreams.signal, (event) => {
        if (event.event === "scope") scopes[index].push(event);
      }, AUTH),
    ]);

    await eventually(
      () =>
        Promise.resolve(opened.length === 2 && scopes.every((events) => events.length === 1) || undefined),
      10_000,
      "the event streams open",
    );
    assert.equal(
      opened.filter((servedBy) => servedBy !== null).length,
      1,
      "one agent relays the owner's stream",
    );

    // 24 series x 5 events; minute 3 is critical for every host.
    await produceHosts(run.topics.raw);

    // Each agent stores only its half; both answer the whole catalog.
    const catalogs = await eventually(
      async () => {
        const answers = await Promise.all(agents.map(async (url) => (await json(`${url}/metrics`)).body));
        const complete = answers.every((catalog) => {
          const series = catalog.series as { host: string; rows: number }[];
          return series.length === HOSTS.length && series.every((s) => s.rows === 5);
        });
        return complete ? answers : undefined;
      },
      90_000,
      "the merged catalog of both agents lists 24 series of 5 rows",
    );
    assert.deepEqual(catalogs[0].series, catalogs[1].series, "the same catalog whichever agent is asked");
    assert.equal(catalogs[0].partial, false);
    assert.equal((catalogs[0].agents as string[]).length, 2);
    const ownRows = await Promise.all(agents.map(async (url) => {
      const response = await fetch(`${url}/metrics`, { headers: { ...AUTH, "X-EventOps-Forwarded": "1" } });
      return ((await response.json()).series as unknown[]).length;
    }));
    assert.ok(ownRows.every((rows) => rows > 0 && rows < HOSTS.length), `each stores a part: ${ownRows}`);
    assert.equal(ownRows[0] + ownRows[1], HOSTS.length);

    // Every series, asked of either agent: its 5 points, gathered from both (not partial).
    for (const host of HOSTS) {
      const answers = await Promise.all(
        agents.map((url) => json(`${url}/metrics/cpu?tenant=so&host=${host}`)),
      );
      for (const [index, answer] of answers.entries()) {
        assert.equal(answer.status, 200, `${host} on ${agents[index]}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.count, 5, `${host} on ${agents[index]}`);
        assert.equal(answer.body.partial, false, `${host} on ${agents[index]}`);
        assert.equal((answer.body.agents as string[]).length, 2, `${host} on ${agents[index]}: both asked`);
      }
      assert.deepEqual(answers[0].body.points, answers[1].body.points, `${host}: the same points`);
    }
    /** A host the second agent owns (stores). */
    const secondOwn = await fetch(`${agents[1]}/metrics`, {
      headers: { ...AUTH, "X-EventOps-Forwarded": "1" },
    });
    const ownedBySecond = ((await secondOwn.json()).series as { host: string }[])[0].host;

    // Alerts: per host one critical firing (minute 3), resolved at minute 4 for half of them; the same
    // list on both agents.
    let seen: unknown[] = [];
    const alertLists = await eventually(
      async () => {
        const answers = await Promise.all(
          agents.map(async (url) => (await json(`${url}/alerts?severity=critical&limit=100`)).body),
        );
        seen = answers.map((answer) => answer.count);
        return answers.every((answer) => answer.count === CRITICAL_TRANSITIONS) ? answers : undefined;
      },
      30_000,
      "36 critical transitions on both agents",
    ).catch((error) => {
      throw new Error(`${error.message}; counts ${seen}`);
    });
    const firing = (alertLists[0].alerts as { state: string; host: string }[]).filter((alert) =>
      alert.state === "firing"
    );
    assert.deepEqual(firing.map((alert) => alert.host).sort(), HOSTS, "one firing critical per host");
    assert.deepEqual(alertLists[0].alerts, alertLists[1].alerts, "the same alerts whichever agent is asked");

    // Live: each stream got every critical transition of both agents exactly once, its own with their
    // seq (the stream's id), the other's with the agent that fired it.
    await eventually(
      () => Promise.resolve(streamed.every((events) => events.length >= CRITICAL_TRANSITIONS) || undefined),
      30_000,
      "36 critical transitions on both streams",
    ).catch((error) => {
      throw new Error(`${error.message}; streamed ${streamed.map((events) => events.length)}`);
    });
    streams.abort();
    await Promise.all(streaming);
    const listedIds = (alertLists[0].alerts as { id: string }[]).map((alert) => alert.id).sort();
    for (const [index, events] of streamed.entries()) {
      const alerts = events.map((event) =>
        JSON.parse(event.data) as { id: string; seq?: number; agent?: string }
      );
      assert.deepEqual(
        alerts.map((alert) => alert.id).sort(),
        listedIds,
        `${agents[index]}: each alert once`,
      );
      const own = events.filter((event) => event.id !== undefined);
      const peer = alerts.filter((alert) => alert.agent !== undefined);
      assert.ok(
        own.length > 0 && peer.length > 0,
        `${agents[index]}: own ${own.length}, peer ${peer.length}`,
      );
      assert.equal(own.length + peer.length, CRITICAL_TRANSITIONS);
      assert.ok(peer.every((alert) => alert.agent === agents[1 - index] && alert.seq === undefined));
      assert.ok(own.every((event) => String(JSON.parse(event.data).seq) === event.id));
    }
    assert.equal(
      streamed[0].filter((event) => event.id !== undefined).length,
      streamed[1].filter((event) => event.id === undefined).length,
      "the first agent's own alerts are the second's peer alerts",
    );

    await eventually(
      () => Promise.resolve(seriesEvents.every((events) => events.length >= 5) || undefined),
      30_000,
      `the 5 events of ${watchedHost} on both agents' streams`,
    ).catch((error) => {
      throw new Error(`${error.message}; got ${seriesEvents.map((events) => events.length)}`);
    });
    eventStreams.abort();
    await Promise.all(eventStreaming);
    for (const [index, events] of seriesEvents.entries()) {
      const values = events.map((event) => JSON.parse(event.data).value);
      assert.deepEqual(values, valuesOf(0), `${agents[index]}: ${watchedHost}'s events once each`);
      assert.equal(scopes[index].length, 1, "one scope event");
      const scope = JSON.parse(scopes[index][0].data);
      assert.deepEqual([scope.scope, scope.agent, scope.other_agents], ["agent", agents[index], [
        agents[1 - index],
      ]]);
    }

    // Firing now: the hosts still firing, from both agents' alert delivery.
    const active = await eventually(
      async () => {
        const answers = await Promise.all(
          agents.map(async (url) => (await json(`${url}/alerts/active`)).body),
        );
        return answers.every((answer) => answer.count === HOSTS.filter((_, i) => STILL_FIRING(i)).length)
          ? answers
          : undefined;
      },
      30_000,
      "the firing alerts of both agents",
    );
    assert.deepEqual(active[0].alerts, active[1].alerts, "the same firing alerts whichever agent is asked");
    assert.deepEqual(
      (active[0].alerts as { host: string }[]).map((alert) => alert.host).sort(),
      HOSTS.filter((_, index) => STILL_FIRING(index)),
    );

    // Many series: points of every host, buckets per host, a group over hosts of both agents.
    const many = async (query: string) => {
      const answers = await Promise.all(agents.map((url) => json(`${url}/metrics/cpu?${query}`)));
      for (const answer of answers) {
        assert.equal(answer.status, 200, `${query}: ${JSON.stringify(answer.body)}`);
      }
      assert.deepEqual(answers[0].body.points, answers[1].body.points, `${query}: the same on both agents`);
      assert.equal(answers[0].body.partial, false);
      return answers[0].body;
    };
    const points = await many("tenant=so&limit=1000");
    assert.equal(points.count, 5 * HOSTS.length);
    const perHost = await many("tenant=so&step=5m&agg=sum");
    assert.deepEqual(
      (perHost.points as { host: string; value: number }[]).map((bucket) => [bucket.host, bucket.value]),
      HOSTS.map((host, index) => [host, sumOf(index)]),
    );
    const grouped = await many("tenant=so&step=5m&agg=sum&group_by=tag.env");
    assert.deepEqual(
      (grouped.points as { group: string | null; value: number }[]).map((
        bucket,
      ) => [bucket.group, bucket.value]),
      [[null, HOSTS.reduce((sum, _, index) => sum + sumOf(index), 0)]],
      "a group over the hosts of both agents: the sums added",
    );
    const average = await json(`${a.baseUrl}/metrics/cpu?tenant=so&step=5m&agg=avg&group_by=tag.env`);
    assert.equal(average.status, 400, "an average over a group across agents is refused, not guessed");
    assert.match((average.body.error as { message: string }).message, /agg=sum with agg=count/);

    // SQL: this agent's store only (and said so), or every agent's results with an agent column.
    const sql = async (agentsScope: string) => {
      const response = await fetch(`${a.baseUrl}/query`, {
        method: "POST",
        headers: { ...AUTH, "Content-Type": "application/json" },
        body: JSON.stringify({ sql: "SELECT count(*) AS n FROM metrics_all", agents: agentsScope }),
      });
      assert.equal(response.status, 200);
      return await response.json();
    };
    const own = await sql("self");
    assert.deepEqual(own.scope, { agent: a.baseUrl, other_agents: [b.baseUrl] });
    const all = await sql("all");
    assert.deepEqual(all.columns.map((column: { name: string }) => column.name), ["agent", "n"]);
    assert.deepEqual(all.rows.map((row: unknown[]) => row[0]), agents);
    assert.equal(all.rows.reduce((sum: number, row: number[]) => sum + row[1], 0), 5 * HOSTS.length);
    assert.equal(all.partial, false);

    // Writes apply cluster-wide: a silence posted to the first agent mutes a series the second delivers
    // (same id on both), an alert the second fires is acknowledged through the first, and expiring the
    // silence through the second expires it on both.
    const stored = (await json(`${b.baseUrl}/metrics`, { "X-EventOps-Forwarded": "1" })).body.series as {
      host: string;
    }[];
    const firingOnSecond = HOSTS.find((host, index) =>
      STILL_FIRING(index) && stored.some((s) => s.host === host)
    )!;
    assert.ok(firingOnSecond, "the second agent delivers a firing alert");
    const write = async (url: string, method: string, body?: unknown) => {
      const response = await fetch(url, {
        method,
        headers: { ...AUTH, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, headers: response.headers, body: await response.json() };
    };
    const now = Date.now();
    const silence = {
      matchers: [{ name: "host", value: firingOnSecond, isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: "e2e",
      comment: "cluster-wide",
    };
    const silenced = await write(`${a.baseUrl}/silences`, "POST", silence);
    assert.equal(silenced.status, 200, JSON.stringify(silenced.body));
    assert.equal(silenced.body.partial, false);
    const silenceId = silenced.body.silenceID as string;
    const badCopy = await fetch(`${a.baseUrl}/silences`, {
      method: "POST",
      headers: {
        ...AUTH,
        "Content-Type": "application/json",
        "X-EventOps-Forwarded": "1",
        "X-EventOps-Silence-Id": "../x",
      },
      body: JSON.stringify(silence),
    });
    assert.equal(badCopy.status, 400, "a replicated silence's id is checked");
    assert.match((await badCopy.json()).error.message, /X-EventOps-Silence-Id must be a silence id/);
    for (const url of agents) {
      const copy = await json(`${url}/silences/${silenceId}`);
      assert.equal(copy.status, 200, `${url} has the silence`);
      assert.equal((copy.body.status as { state: string }).state, "active");
    }
    const activeOf = async (url: string) =>
      ((await json(`${url}/alerts/active?host=${firingOnSecond}`)).body.alerts as {
        fingerprint: string;
        silenced_by: string[];
        acked: { acked_by: string } | null;
      }[])[0];
    const muted = await activeOf(a.baseUrl);
    assert.deepEqual(muted.silenced_by, [silenceId], "the second agent's alert is silenced");
    const acked = await write(`${a.baseUrl}/alerts/${muted.fingerprint}/ack`, "POST", { by: "e2e" });
    assert.equal(acked.status, 200, JSON.stringify(acked.body));
    assert.equal(acked.headers.get("X-EventOps-Served-By"), b.baseUrl, "acknowledged where it fires");
    assert.equal((await activeOf(b.baseUrl)).acked?.acked_by, "e2e");
    const unknownAck = await write(`${a.baseUrl}/alerts/0000000000000000/ack`, "POST", { by: "e2e" });
    assert.equal(unknownAck.status, 404, "an alert firing nowhere");
    const expired = await write(`${b.baseUrl}/silences/${silenceId}`, "DELETE");
    assert.equal(expired.status, 200, JSON.stringify(expired.body));
    for (const url of agents) {
      const copy = await json(`${url}/silences/${silenceId}`);
      assert.equal((copy.body.status as { state: string }).state, "expired", `expired on ${url}`);
    }
    assert.deepEqual((await activeOf(b.baseUrl)).silenced_by, []);

    // One agent down, before the group notices (its session times out after 10 s): the other says
    // what is missing instead of answering without it.
    await b.kill();
    const deadUrl = b.baseUrl;
    b = undefined;
    const single = await json(`${a.baseUrl}/metrics/cpu?tenant=so&host=${ownedBySecond}`);
    assert.equal(single.status, 503, `a series of the dead agent: ${JSON.stringify(single.body)}`);
    assert.match(String((single.body.error as { message: string }).message), new RegExp(deadUrl));
    assert.equal(single.headers.get("X-EventOps-Partial"), "true");
    const catalog = await json(`${a.baseUrl}/metrics`);
    assert.equal(catalog.status, 200);
    assert.equal(catalog.body.partial, true, JSON.stringify(catalog.body).slice(0, 300));
    assert.equal(catalog.headers.get("X-EventOps-Partial"), "true");
    assert.deepEqual((catalog.body.unreachable as { url: string }[]).map((entry) => entry.url), [deadUrl]);
    const alerts = await json(`${a.baseUrl}/alerts?severity=critical&limit=100`);
    assert.equal(alerts.body.partial, true);
    const partialPoints = await json(`${a.baseUrl}/metrics/cpu?tenant=so&limit=1000`);
    assert.equal(partialPoints.body.partial, true);
    assert.equal(partialPoints.headers.get("X-EventOps-Partial"), "true");
    assert.ok((partialPoints.body.count as number) < 5 * HOSTS.length);
    assert.ok(
      (alerts.body.count as number) < CRITICAL_TRANSITIONS,
      "the dead agent's alerts are missing, and said so",
    );
  } finally {
    await b?.stop();
    assert.equal(await a.stop(), 0);
  }
});
