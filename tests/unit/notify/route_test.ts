/** The route tree and matchers: Alertmanager's own route test (dispatch/route_test.go) and matcher syntax. */
import assert from "node:assert/strict";
import { NotifyFileSchema } from "../../../config/notify.ts";
import {
  formatMatcherList,
  fromApiMatcher,
  matchesAll,
  parseMatchers,
  toApiMatcher,
} from "../../../config/notify_matchers.ts";
import { parseNotifyFile } from "../../../notify/load.ts";
import { compileRoute, groupKey, groupLabels, matchRoutes, receiversOf } from "../../../notify/route.ts";

/** Alertmanager v0.28.1 dispatch/route_test.go TestRouteMatch, with its receivers declared. */
const AM_ROUTE_TEST = `
route:
  receiver: 'notify-def'
  routes:
  - match:
      owner: 'team-A'
    receiver: 'notify-A'
    routes:
    - match:
        env: 'testing'
      receiver: 'notify-testing'
      group_by: ['...']
    - match:
        env: "production"
      receiver: 'notify-productionA'
      group_wait: 1m
      continue: true
    - match_re:
        env: "produ.*"
        job: ".*"
      receiver: 'notify-productionB'
      group_wait: 30s
      group_interval: 5m
      repeat_interval: 1h
      group_by: ['job']
  - match_re:
      owner: 'team-(B|C)'
    group_by: ['foo', 'bar']
    group_wait: 2m
    receiver: 'notify-BC'
  - match:
      group_by: 'role'
    group_by: ['role']
    routes:
    - match:
        env: 'testing'
      receiver: 'notify-testing'
      routes:
      - match:
          wait: 'long'
        group_wait: 2m
receivers:
  - name: notify-def
  - name: notify-A
  - name: notify-testing
  - name: notify-productionA
  - name: notify-productionB
  - name: notify-BC
`;

const MIN = 60_000;

Deno.test("route tree: Alertmanager's TestRouteMatch cases give its receivers, options and route keys", () => {
  const tree = compileRoute(parseNotifyFile(AM_ROUTE_TEST, "am.yaml").route);
  const cases: {
    input: Record<string, string>;
    want: { receiver: string; groupBy: string[] | "all"; wait: number; interval: number; repeat: number }[];
    keys: string[];
  }[] = [
    {
      input: { owner: "team-A" },
      want: [{ receiver: "notify-A", groupBy: [], wait: 0.5 * MIN, interval: 5 * MIN, repeat: 240 * MIN }],
      keys: ['{}/{owner="team-A"}'],
    },
    {
      input: { owner: "team-A", env: "unset" },
      want: [{ receiver: "notify-A", groupBy: [], wait: 0.5 * MIN, interval: 5 * MIN, repeat: 240 * MIN }],
      keys: ['{}/{owner="team-A"}'],
    },
    {
      input: { owner: "team-C" },
      want: [{
        receiver: "notify-BC",
        groupBy: ["foo", "bar"],
        wait: 2 * MIN,
        interval: 5 * MIN,
        repeat: 240 * MIN,
      }],
      keys: ['{}/{owner=~"^(?:team-(B|C))$"}'],
    },
    {
      input: { owner: "team-A", env: "testing" },
      want: [{
        receiver: "notify-testing",
        groupBy: "all",
        wait: 0.5 * MIN,
        interval: 5 * MIN,
        repeat: 240 * MIN,
      }],
      keys: ['{}/{owner="team-A"}/{env="testing"}'],
    },
    {
      input: { owner: "team-A", env: "production" },
      want: [
        { receiver: "notify-productionA", groupBy: [], wait: MIN, interval: 5 * MIN, repeat: 240 * MIN },
        {
          receiver: "notify-productionB",
          groupBy: ["job"],
          wait: 0.5 * MIN,
          interval: 5 * MIN,
          repeat: 60 * MIN,
        },
      ],
      keys: [
        '{}/{owner="team-A"}/{env="production"}',
        '{}/{owner="team-A"}/{env=~"^(?:produ.*)$",job=~"^(?:.*)$"}',
      ],
    },
    {
      input: { group_by: "role" },
      want: [{
        receiver: "notify-def",
        groupBy: ["role"],
        wait: 0.5 * MIN,
        interval: 5 * MIN,
        repeat: 240 * MIN,
      }],
      keys: ['{}/{group_by="role"}'],
    },
    {
      input: { env: "testing", group_by: "role" },
      want: [{
        receiver: "notify-testing",
        groupBy: ["role"],
        wait: 0.5 * MIN,
        interval: 5 * MIN,
        repeat: 240 * MIN,
      }],
      keys: ['{}/{group_by="role"}/{env="testing"}'],
    },
    {
      input: { env: "testing", group_by: "role", wait: "long" },
      want: [{
        receiver: "notify-testing",
        groupBy: ["role"],
        wait: 2 * MIN,
        interval: 5 * MIN,
        repeat: 240 * MIN,
      }],
      keys: ['{}/{group_by="role"}/{env="testing"}/{wait="long"}'],
    },
  ];
  for (const { input, want, keys } of cases) {
    const matched = matchRoutes(tree, input);
    assert.deepEqual(
      matched.map((r) => ({
        receiver: r.receiver,
        groupBy: r.groupBy,
        wait: r.groupWait,
        interval: r.groupInterval,
        repeat: r.repeatInterval,
      })),
      want,
      JSON.stringify(input),
    );
    assert.deepEqual(matched.map((r) => r.key), keys, JSON.stringify(input));
  }
});

Deno.test("route tree: group labels and Alertmanager's group key; '...' groups by every label", () => {
  const tree = compileRoute(parseNotifyFile(AM_ROUTE_TEST, "am.yaml").route);
  const [bc] = matchRoutes(tree, { owner: "team-B", foo: "1", bar: "x y", other: "z" });
  assert.deepEqual(groupLabels(bc, { owner: "team-B", foo: "1", bar: "x y", other: "z" }), {
    foo: "1",
    bar: "x y",
  });
  assert.equal(
    groupKey(bc, { foo: "1", bar: 'x "y"' }),
    '{}/{owner=~"^(?:team-(B|C))$"}:{bar="x \\"y\\"", foo="1"}',
  );
  const [all] = matchRoutes(tree, { owner: "team-A", env: "testing", b: "2" });
  assert.deepEqual(groupLabels(all, { owner: "team-A", env: "testing", b: "2" }), {
    owner: "team-A",
    env: "testing",
    b: "2",
  });
  assert.deepEqual(receiversOf(tree, { owner: "team-A", env: "production" }), [
    "notify-productionA",
    "notify-productionB",
  ]);
  assert.deepEqual(receiversOf(tree, { nothing: "matches" }), ["notify-def"]);
});

Deno.test("matchers: Alertmanager's syntax, anchored regular expressions, a missing label is empty", () => {
  assert.deepEqual(parseMatchers('severity="critical"').map(toApiMatcher), [
    { name: "severity", value: "critical", isRegex: false, isEqual: true },
  ]);
  const list = parseMatchers('{tenant="acme", host!~"lab-.*", site =~ par-1, team!=""}');
  assert.deepEqual(list.map((m) => `${m.name}${m.type}${m.value}`), [
    "tenant=acme",
    "host!~lab-.*",
    "site=~par-1",
    "team!=",
  ]);
  assert.equal(formatMatcherList(list), '{host!~"lab-.*",site=~"par-1",team!="",tenant="acme"}');
  assert.ok(matchesAll(list, { tenant: "acme", host: "web-1", site: "par-1", team: "ops" }));
  assert.ok(
    !matchesAll(list, { tenant: "acme", host: "lab-1", site: "par-1", team: "ops" }),
    "host!~ matches",
  );
  assert.ok(!matchesAll(list, { tenant: "acme", host: "web-1", site: "par-12", team: "ops" }), "anchored");
  assert.ok(!matchesAll(list, { tenant: "acme", host: "web-1", site: "par-1" }), "team missing is empty");
  assert.deepEqual(parseMatchers('summary="a \\"quoted\\", text"')[0].value, 'a "quoted", text');
  assert.equal(fromApiMatcher({ name: "host", value: "db-.*", isRegex: true, isEqual: false }).type, "!~");
  assert.equal(fromApiMatcher({ name: "host", value: "db", isRegex: false }).type, "=");
  for (
    const [bad, message] of [
      ["severity", /expected an operator/],
      ["9x=1", /invalid label name/],
      ['a=~"("', /invalid regular expression/],
      ["a=b c", /quote the value/],
      ['{a="b"', /missing closing brace/],
    ] as const
  ) {
    assert.throws(() => parseMatchers(bad), message, bad);
  }
});

Deno.test("notification file: receivers referenced must exist, root rules, errors name line and key path", () => {
  const bad = `route:
  receiver: nobody
  matchers: ['a="b"']
  routes:
    - receiver: ops
      matchers: ['severity=critical', 'host=~"("']
      group_interval: 0s
receivers:
  - name: ops
    webhook_configs:
      - url: ftp://example
        http_config: { authorization: { credentials: "inline" } }
  - name: ops
`;
  let message = "";
  try {
    parseNotifyFile(bad, "notify.yaml");
  } catch (error) {
    message = (error as Error).message;
  }
  for (
    const expected of [
      /notify\.yaml:6:\d+: route\.routes\[0\]\.matchers\[1\]: invalid regular expression/,
      /notify\.yaml:7:\d+: route\.routes\[0\]\.group_interval: must be more than 0s/,
      /notify\.yaml:11:\d+: receivers\[0\]\.webhook_configs\[0\]\.url: expected an http:\/\/ or https:\/\/ URL/,
      /receivers\[0\]\.webhook_configs\[0\]\.http_config\.authorization\.credentials: inline secrets are not accepted/,
    ]
  ) assert.match(message, expected);
  const second = `route: { receiver: nobody, matchers: ['a="b"'] }
receivers: [{ name: ops }, { name: ops }]
`;
  try {
    parseNotifyFile(second, "n.yaml");
  } catch (error) {
    message = (error as Error).message;
  }
  assert.match(message, /n\.yaml:2:\d+: receivers\[1\]\.name: duplicate receiver ops/);
  assert.match(message, /route\.receiver: no receiver named "nobody"/);
  assert.match(message, /route\.matchers: the root route must not have matchers/);
  const ok = NotifyFileSchema.parse({ route: { receiver: "a" }, receivers: [{ name: "a" }] });
  assert.equal(ok.delivery.max_age, 24 * 3_600_000);
  assert.equal(ok.delivery.initial_backoff, 1_000);
});
