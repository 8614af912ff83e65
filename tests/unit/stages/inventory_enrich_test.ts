import assert from "node:assert/strict";
import { enrich, enrichedContext, isUnknownContext, isUnknownHost } from "../../../stages/enrich.ts";
import {
  compileInventory,
  emptyInventory,
  Inventory,
  InventoryFileSchema,
  isGlob,
  parseInventory,
} from "../../../stages/inventory.ts";
import { SpecError } from "../../../lib/yaml_spec.ts";
import { envelope } from "./helpers.ts";

const YAML = `
defaults: { site: unknown, criticality: low }
hosts:
  - tenant: acme
    host: "host-*"
    site: par-1
    role: web
    owner: team-a
    criticality: high
    labels: { rack: r12, slot: 4, virtual: true }
  - tenant: acme
    host: host-a
    role: db
  - host: "*.example.com"
    site: fra-2
  - tenant: "glob*"
    host: host-x
    role: first-by-host
  - tenant: "*"
    host: "host-x"
    role: second-by-host
  - tenant: "b*"
    host: "*"
    role: any-b
  - tenant: beta
    host: db-1
    role: exact-after-glob
  - host: "web-{1,2}"
    role: brace
  - host: "cache-?"
    role: question
  - host: "[xy]-node"
    role: bracket
`;

const inventory = parseInventory(YAML, "inventory.yaml");

Deno.test("inventory lookups", async (t) => {
  const cases: [string, string, Record<string, string>][] = [
    ["acme", "host-a", { site: "unknown", criticality: "low", role: "db" }],
    [
      "acme",
      "host-b",
      {
        site: "par-1",
        criticality: "high",
        role: "web",
        owner: "team-a",
        rack: "r12",
        slot: "4",
        virtual: "true",
      },
    ],
    ["acme", "api.example.com", { site: "fra-2", criticality: "low" }],
    ["other", "a.b.example.com", { site: "fra-2", criticality: "low" }],
    ["globex", "host-x", { site: "unknown", criticality: "low", role: "first-by-host" }],
    ["zeta", "host-x", { site: "unknown", criticality: "low", role: "second-by-host" }],
    ["beta", "anything", { site: "unknown", criticality: "low", role: "any-b" }],
    ["beta", "db-1", { site: "unknown", criticality: "low", role: "exact-after-glob" }],
    ["t", "web-2", { site: "unknown", criticality: "low", role: "brace" }],
    ["t", "web-3", { site: "unknown", criticality: "low", inventory: "unknown" }],
    ["t", "cache-1", { site: "unknown", criticality: "low", role: "question" }],
    ["t", "cache-12", { site: "unknown", criticality: "low", inventory: "unknown" }],
    ["t", "y-node", { site: "unknown", criticality: "low", role: "bracket" }],
    ["ACME", "host-b", { site: "unknown", criticality: "low", inventory: "unknown" }],
    ["nobody", "nowhere", { site: "unknown", criticality: "low", inventory: "unknown" }],
  ];
  for (const [tenant, host, ctx] of cases) {
    await t.step(`${tenant}/${host}`, () => assert.deepEqual({ ...inventory.lookup(tenant, host) }, ctx));
  }
  await t.step("exact beats an earlier glob; globs otherwise in file order", () => {
    // host-a matches hosts[0] (glob) but hosts[1] is exact.
    assert.equal(inventory.lookup("acme", "host-a").role, "db");
    // host-x for tenant "bx" matches hosts[4] ("*"/host-x) before hosts[5] ("b*"/"*").
    assert.equal(inventory.lookup("bx", "host-x").role, "second-by-host");
  });
  await t.step("contexts are shared and frozen; lookups are cached", () => {
    const first = inventory.lookup("acme", "host-b");
    assert.equal(inventory.lookup("acme", "host-b"), first);
    assert.equal(inventory.lookup("acme", "host-c"), first);
    assert.ok(Object.isFrozen(first));
  });
  await t.step("size counts entries", () => assert.equal(inventory.size, 10));
});

Deno.test("inventory cache is bounded", () => {
  const small = new Inventory(InventoryFileSchema.parse({ hosts: [{ host: "h-*", role: "r" }] }), 3);
  for (let i = 0; i < 10; i++) assert.equal(small.lookup("t", `h-${i}`).role, "r");
  assert.equal(small.lookup("t", "h-0").role, "r");
  assert.equal(small.lookup("t", "zz").inventory, "unknown");
});

Deno.test("empty inventories", async (t) => {
  await t.step("emptyInventory marks everything unknown", () => {
    assert.deepEqual({ ...emptyInventory().lookup("a", "b") }, { inventory: "unknown" });
  });
  await t.step("an empty file is an empty inventory", () => {
    assert.equal(parseInventory("", "empty.yaml").size, 0);
    assert.equal(parseInventory("# nothing\n", "empty.yaml").size, 0);
  });
  await t.step("compileInventory of a parsed object", () => {
    const compiled = compileInventory(InventoryFileSchema.parse({ defaults: { site: "x" } }));
    assert.deepEqual({ ...compiled.lookup("a", "b") }, { site: "x", inventory: "unknown" });
  });
});

Deno.test("isGlob", () => {
  for (const glob of ["*", "host-*", "h?", "[ab]", "web-{1,2}", "@(a|b)"]) assert.ok(isGlob(glob), glob);
  for (const exact of ["host-a", "a.b.example.com", "acme", "web_1"]) assert.ok(!isGlob(exact), exact);
});

Deno.test("inventory errors name file, line, key path and expectation", async (t) => {
  const cases: [string, string, string | RegExp][] = [
    ["unknown key", "hosts:\n  - host: a\n    rol: web\n", "inv.yaml:3:5: hosts[0].rol: unknown key"],
    [
      "missing host",
      "hosts:\n  - tenant: acme\n    role: web\n",
      "inv.yaml:2:5: hosts[0].host: missing (expected a string)",
    ],
    ["empty host", "hosts:\n  - host: ''\n", "inv.yaml:2:11: hosts[0].host: must not be empty"],
    ["hosts not a list", "hosts: {a: 1}\n", 'inv.yaml:1:8: hosts: expected a list, got {"a":1}'],
    ["defaults not a map", "defaults: [1]\n", "inv.yaml:1:11: defaults: expected a mapping, got [1]"],
    ["top-level unknown", "host: a\n", "inv.yaml:1:1: host: unknown key"],
    [
      "label repeats a named field",
      "hosts:\n  - host: a\n    labels: { site: x }\n",
      "inv.yaml:3:13: hosts[0].labels: labels must not repeat the named fields (site, role, owner, criticality); set them directly",
    ],
    [
      "reserved label key",
      "hosts:\n  - host: a\n    labels: { inventory: x }\n",
      "inv.yaml:3:15: hosts[0].labels.inventory: invalid key: key inventory is reserved",
    ],
    [
      "bad label key",
      "hosts:\n  - host: a\n    labels: { 9rack: x }\n",
      "inv.yaml:3:15: hosts[0].labels.9rack: invalid key: expected a key of letters, digits, _ . - (not starting with a digit)",
    ],
    [
      "label value not scalar",
      "hosts:\n  - host: a\n    labels: { rack: [1] }\n",
      "inv.yaml:3:21: hosts[0].labels.rack: expected a string, number or boolean",
    ],
    [
      "duplicate tenant/host",
      "hosts:\n  - host: a\n  - host: b\n  - host: a\n",
      "inv.yaml:4:5: hosts[2]: same tenant and host as hosts[0] (* / a)",
    ],
    ["invalid YAML", "hosts: [\n", /^inv\.yaml: invalid YAML: /],
    [
      "duplicate YAML key",
      "defaults: {}\ndefaults: {}\n",
      /^inv\.yaml: invalid YAML: Map keys must be unique/,
    ],
  ];
  for (const [name, text, expected] of cases) {
    await t.step(name, () => {
      const error = (() => {
        try {
          parseInventory(text, "inv.yaml");
        } catch (error) {
          return error;
        }
        assert.fail("expected an error");
      })();
      assert.ok(error instanceof SpecError);
      if (typeof expected === "string") assert.equal(error.message, expected);
      else assert.match(error.message, expected);
    });
  }
});

Deno.test("enrich", async (t) => {
  await t.step("adds the context without mutating the input", () => {
    const event = envelope({ tenant: "acme", host: "host-b" });
    const enriched = enrich(event, inventory);
    assert.deepEqual(event.ctx, {});
    assert.notEqual(enriched, event);
    assert.equal(enriched.ctx.site, "par-1");
    assert.equal(enriched.ctx.rack, "r12");
    assert.equal(enriched.id, event.id);
    assert.equal(isUnknownHost(enriched), false);
  });
  await t.step("unknown host: defaults + marker", () => {
    const enriched = enrich(envelope({ tenant: "x", host: "y" }), inventory);
    assert.deepEqual(enriched.ctx, { site: "unknown", criticality: "low", inventory: "unknown" });
    assert.equal(isUnknownHost(enriched), true);
  });
  await t.step("an incoming ctx is kept and overridden by the inventory", () => {
    const enriched = enrich(
      envelope({ tenant: "acme", host: "host-a", ctx: { role: "old", zone: "z1" } }),
      inventory,
    );
    assert.deepEqual(enriched.ctx, { role: "db", zone: "z1", site: "unknown", criticality: "low" });
  });
  await t.step("events of one host share the context object", () => {
    const a = enrich(envelope({ tenant: "acme", host: "host-b" }), inventory);
    const b = enrich(envelope({ tenant: "acme", host: "host-b" }), inventory);
    assert.equal(a.ctx, b.ctx);
  });
  await t.step("enrichedContext is the context enrich gives, without the copy", () => {
    for (
      const event of [
        envelope({ tenant: "acme", host: "host-b" }),
        envelope({ tenant: "x", host: "y" }),
        envelope({ tenant: "acme", host: "host-a", ctx: { role: "old", zone: "z1" } }),
      ]
    ) {
      const ctx = enrichedContext(event, inventory);
      assert.deepEqual(ctx, enrich(event, inventory).ctx);
      assert.equal(isUnknownContext(ctx), isUnknownHost(enrich(event, inventory)));
    }
    assert.equal(
      enrichedContext(envelope({ tenant: "acme", host: "host-b" }), inventory),
      enrich(envelope({ tenant: "acme", host: "host-b" }), inventory).ctx,
    );
  });
});
