/**
 * Scale-out reads with three agents (issue 24), compared with one agent fed the same events on topics of
 * its own: every series' points, the catalog, buckets over all hosts and the alerts are the same
 * whichever of the three is asked, and the same as the single agent's. Then one agent is SIGKILLed:
 * until the group notices (session timeout 10 s) the others say what is missing (`partial`, a 503 naming
 * it for its series); then the survivors restore its rows from `events.enriched` (`pipeline/restore.ts`)
 * and the test measures how long until they answer completely again: every series and bucket as the
 * single agent's, each series stored once; its partitions' new events are stored by the survivors.
 * Last, the killed agent comes back on its store: nothing is counted twice.
 */
import assert from "node:assert/strict";
import { eventually, type RunningAgent } from "../../testing/agent.ts";
import { kcatProduce } from "../../testing/kcat.ts";
import {
  clusterSettled,
  CRITICAL_TRANSITIONS,
  getJson,
  HOSTS,
  produceHosts,
  startAgents,
  stopAll,
} from "../../testing/scaleout.ts";

/** The reads compared between agents: each one's answer, stripped of what names the agents. */
async function answersOf(url: string): Promise<Record<string, unknown>> {
  const body = async (path: string) => {
    const answer = await getJson(`${url}${path}`);
    assert.equal(answer.status, 200, `${url}${path}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    assert.notEqual(answer.body.partial, true, `${url}${path} is partial`);
    return answer.body;
  };
  const answers: Record<string, unknown> = {};
  answers.catalog = (await body("/metrics")).series;
  for (const host of HOSTS) answers[host] = (await body(`/metrics/cpu?tenant=so&host=${host}`)).points;
  answers.points = (await body("/metrics/cpu?tenant=so&limit=1000")).points;
  answers.perHost = (await body("/metrics/cpu?tenant=so&step=5m&agg=sum")).points;
  for (const agg of ["sum", "count", "min", "max"]) {
    answers[`group ${agg}`] =
      (await body(`/metrics/cpu?tenant=so&step=1m&agg=${agg}&group_by=tag.env`)).points;
  }
  // Each agent numbers its own alerts (seq): the transitions compared without it, by id.
  const alerts = (await body("/alerts?limit=100")).alerts as { id: string; seq?: number }[];
  answers.alerts = alerts.map(({ seq: _seq, ...alert }) => alert).sort((x, y) => x.id < y.id ? -1 : 1);
  answers.active = (await body("/alerts/active")).alerts;
  return answers;
}

/** The series (hosts) of the catalog `url` answers, with their rows. */
async function rowsByHost(url: string, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const series = (await getJson(`${url}/metrics`, headers)).body.series as { host: string; rows: number }[];
  return new Map(series.map((s) => [s.host, s.rows]));
}

Deno.test("scale-out reads: three agents answer as one agent does; one killed is said, then the others agree", async () => {
  const [cluster, single] = await Promise.all([startAgents("scaleout3", 3), startAgents("scaleone", 1)]);
  const agents: (RunningAgent | undefined)[] = [...cluster.agents, single.agents[0]];
  try {
    const urls = cluster.urls;
    await clusterSettled(urls);
    await Promise.all([produceHosts(cluster.topics.raw), produceHosts(single.topics.raw)]);

    // Everything stored and every alert fired, on the single agent and across the three.
    const complete = async (url: string) => {
      const rows = await rowsByHost(url);
      const alerts = (await getJson(`${url}/alerts?severity=critical&limit=100`)).body;
      return rows.size === HOSTS.length && [...rows.values()].every((n) => n === 5) &&
        alerts.count === CRITICAL_TRANSITIONS;
    };
    await eventually(
      async () => (await Promise.all([...urls, single.urls[0]].map(complete))).every(Boolean) || undefined,
      90_000,
      "24 series of 5 rows and 36 critical transitions, on the single agent and on each of the three",
    );
    const expected = await answersOf(single.urls[0]);
    for (const url of urls) {
      const answers = await answersOf(url);
      for (const [read, answer] of Object.entries(expected)) {
        assert.deepEqual(answers[read], answer, `${read} on ${url}: the single agent's answer`);
      }
    }
    const owned = await Promise.all(urls.map((url) => rowsByHost(url, { "X-EventOps-Forwarded": "1" })));
    assert.ok(owned.every((hosts) => hosts.size > 0), `each stores a part: ${owned.map((h) => h.size)}`);
    assert.equal(owned.reduce((sum, hosts) => sum + hosts.size, 0), HOSTS.length, "each series stored once");

    // SIGKILL the third: until its session times out, the others say what is missing.
    const deadUrl = urls[2];
    const deadHosts = [...owned[2].keys()];
    const survivors = urls.slice(0, 2);
    await agents[2]!.kill();
    agents[2] = undefined;
    const killedAt = performance.now();
    for (const url of survivors) {
      const catalog = await getJson(`${url}/metrics`);
      assert.equal(catalog.body.partial, true, `${url}: ${JSON.stringify(catalog.body).slice(0, 200)}`);
      assert.equal(catalog.headers.get("X-EventOps-Partial"), "true");
      assert.deepEqual((catalog.body.unreachable as { url: string }[]).map((entry) => entry.url), [deadUrl]);
      const series = await getJson(`${url}/metrics/cpu?tenant=so&host=${deadHosts[0]}`);
      assert.equal(series.status, 503, `${deadHosts[0]} on ${url}: ${JSON.stringify(series.body)}`);
      assert.match((series.body.error as { message: string }).message, new RegExp(deadUrl));
      const alerts = await getJson(`${url}/alerts?limit=100`);
      assert.equal(alerts.body.partial, true);
    }

    // The group moves its partitions to the survivors, which restore its rows from events.enriched:
    // complete answers again, not partial, the same on both and as the single agent's.
    const settled = async () => {
      const views = await Promise.all(survivors.map(async (url) => (await getJson(`${url}/cluster`)).body));
      const mapped = views.every((view) =>
        (view.view as { members: unknown[] } | null)?.members.length === 2 &&
        (view.unowned_partitions as number[]).length === 0
      );
      if (!mapped) return undefined;
      const reads = await Promise.all(survivors.flatMap((url) => [
        getJson(`${url}/metrics`),
        getJson(`${url}/metrics/cpu?tenant=so&host=${deadHosts[0]}`),
      ]));
      if (!reads.every((read) => read.status === 200 && read.body.partial !== true)) return undefined;
      const rows = await Promise.all(survivors.map((url) => rowsByHost(url)));
      return rows.every((hosts) =>
        hosts.size === HOSTS.length && [...hosts.values()].every((n) => n === 5)
      ) ||
        undefined;
    };
    await eventually(
      settled,
      60_000,
      "the survivors answer for every series again, the killed agent's restored",
    );
    const recoveredMs = Math.round(performance.now() - killedAt);
    console.log(`scale-out: complete answers again ${recoveredMs} ms after SIGKILL (its rows restored)`);
    assert.ok(recoveredMs >= 1_000, `not before the group noticed: ${recoveredMs} ms`);
    for (const url of survivors) {
      const answers = await answersOf(url);
      for (const [read, answer] of Object.entries(expected)) {
        assert.deepEqual(
          answers[read],
          answer,
          `${read} on ${url} after the kill (its rows and alerts restored): the single agent's answer`,
        );
      }
    }
    // Each survivor says what it restored (GET /cluster): the killed agent's rows, all of them.
    const reports = await Promise.all(survivors.map(async (url) => (await getJson(`${url}/cluster`)).body));
    const restored = reports.flatMap((report) => {
      const last = report.last_restore as
        | { partitions: number[]; incomplete: number[]; inserted: number }
        | null;
      assert.deepEqual(report.restoring, [], "not restoring any more");
      return last === null ? [] : [last];
    });
    assert.ok(
      restored.length > 0,
      `a survivor restored the killed agent's partitions: ${JSON.stringify(reports)}`,
    );
    assert.equal(restored.reduce((sum, last) => sum + last.inserted, 0), 5 * deadHosts.length, "its rows");
    assert.ok(restored.every((last) => last.incomplete.length === 0), "nothing it held left out");
    const restoredBy = await Promise.all(
      survivors.map((url) => rowsByHost(url, { "X-EventOps-Forwarded": "1" })),
    );
    assert.equal(
      restoredBy.reduce((sum, hosts) => sum + hosts.size, 0),
      HOSTS.length,
      "each series stored once among the survivors (the restored ones by their new owner)",
    );

    // Its partitions are the survivors' now: a new event of each host is stored and read on both.
    const ts = new Date(Date.UTC(2025, 9, 21, 10, 5, 0)).toISOString();
    for (const host of HOSTS) {
      await kcatProduce(cluster.topics.raw, [
        JSON.stringify({
          tenant_id: "so",
          host,
          metric: "cpu_load",
          value: 30,
          ts_event: ts,
          unit: "percent",
        }),
      ], host);
    }
    const final = await eventually(
      async () => {
        const rows = await Promise.all(survivors.map((url) => rowsByHost(url)));
        return rows.every((hosts) =>
            hosts.size === HOSTS.length &&
            HOSTS.every((host) => hosts.get(host) === 6)
          )
          ? rows
          : undefined;
      },
      60_000,
      "every host's new event stored by the survivors",
    );
    assert.deepEqual([...final[0].entries()], [...final[1].entries()]);
    for (const url of survivors) {
      const series = await getJson(`${url}/metrics/cpu?tenant=so&host=${deadHosts[0]}`);
      assert.equal(series.status, 200);
      const values = (series.body.points as { value: number }[]).map((point) => point.value);
      assert.equal(values.length, 6, `${deadHosts[0]}: its 5 restored points and the new one: ${values}`);
      assert.equal(values.at(-1), 30);
    }

    // The killed agent comes back on its store, after its rows were restored by the others: it holds
    // the same rows again, and the others leave their copies out, so nothing is counted twice.
    agents[2] = await cluster.restart(2);
    await clusterSettled(urls);
    await eventually(
      async () => {
        const rows = await Promise.all(urls.map((url) => rowsByHost(url)));
        return rows.every((hosts) =>
          hosts.size === HOSTS.length && HOSTS.every((host) => hosts.get(host) === 6)
        ) ||
          undefined;
      },
      60_000,
      "6 rows of every series on each of the three, the restored copies left out",
    );
    for (const url of urls) {
      const series = await getJson(`${url}/metrics/cpu?tenant=so&host=${deadHosts[0]}`);
      assert.equal(series.status, 200);
      assert.equal((series.body.points as unknown[]).length, 6, `${deadHosts[0]} on ${url}: each point once`);
      const sums = await getJson(`${url}/metrics/cpu?tenant=so&step=5m&agg=count`);
      const counted = (sums.body.points as { value: number }[]).reduce((sum, point) => sum + point.value, 0);
      assert.equal(counted, 6 * HOSTS.length, `${url}: count over every host, each row once`);
    }
  } finally {
    const codes = await stopAll(agents);
    assert.deepEqual(codes, codes.map(() => 0), "the agents still running stop cleanly");
  }
});
