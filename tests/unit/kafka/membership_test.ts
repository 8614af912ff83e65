/**
 * Scale-out membership (pure parts): the member data a consumer advertises in its subscription, the
 * cluster view built from a described group, and the owner of a series — on the partition the
 * stateless group produces the series to (`SeriesPartitioner`, Kafka's default partitioner).
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  clusterViewOf,
  decodeMemberData,
  type DescribedMember,
  encodeMemberData,
  ownerOfSeries,
} from "../../../kafka/membership.ts";
import { SeriesPartitioner } from "../../../kafka/partition.ts";
import { unownedPartitions } from "../../../api/routes/meta.ts";
import { reachableBaseUrl } from "../../../lib/net_address.ts";

function member(
  id: string,
  url: string | undefined,
  instance: string,
  partitions: number[],
): DescribedMember {
  return {
    id,
    metadata: { metadata: url === undefined ? null : encodeMemberData({ http: url, instance }) },
    assignments: new Map([["t.enriched", { topic: "t.enriched", partitions }]]),
  };
}

function group(members: DescribedMember[]) {
  return { id: "g", state: "STABLE", members: new Map(members.map((m) => [m.id, m])) };
}

Deno.test("member data: round trip; another client's user data (or none) is not ours", () => {
  const data = { http: "http://10.0.0.5:8088", instance: "i-1" };
  assert.deepEqual(decodeMemberData(encodeMemberData(data)), data);
  const withStore = { ...data, store: "5f0c2c53-0f6a-4c1e-9d7e-3a1b2c3d4e5f" };
  assert.deepEqual(decodeMemberData(encodeMemberData(withStore)), withStore, "the store's id goes along");
  assert.equal(decodeMemberData(null), undefined);
  assert.equal(decodeMemberData(new Uint8Array([0, 0, 0, 1])), undefined, "cooperative-sticky generation");
  assert.equal(decodeMemberData(new TextEncoder().encode('{"v":2,"http":"x","instance":"y"}')), undefined);
  assert.equal(decodeMemberData(new TextEncoder().encode("{not json")), undefined);
});

Deno.test("cluster view: members with their address, partitions and which is this agent", () => {
  const view = clusterViewOf(
    group([member("m-b", "http://b:1", "ib", [1, 3]), member("m-a", "http://a:1", "ia", [2, 0])]),
    "t.enriched",
    4,
    "keyed",
    "ia",
    1_000,
  );
  assert.deepEqual(view.members, [
    { member_id: "m-a", url: "http://a:1", instance: "ia", self: true, partitions: [0, 2] },
    { member_id: "m-b", url: "http://b:1", instance: "ib", self: false, partitions: [1, 3] },
  ]);
  assert.deepEqual(unownedPartitions(view), []);
});

Deno.test("owner of a series: the member owning the partition the producer keys it to", () => {
  const partitions = 6;
  const view = clusterViewOf(
    group([member("m-a", "http://a:1", "ia", [0, 1, 2]), member("m-b", "http://b:1", "ib", [3, 4, 5])]),
    "t.enriched",
    partitions,
    "keyed",
    "ia",
    0,
  );
  const producer = new SeriesPartitioner(partitions);
  const seen = new Set<string>();
  for (let index = 0; index < 24; index++) {
    const series = { tenant: "so", host: `so-h${index}`, metric: "cpu_load" };
    const partition = producer.partition(series);
    const owner = ownerOfSeries(view, series);
    if (partition <= 2) assert.deepEqual(owner, { kind: "self" });
    else assert.deepEqual(owner, { kind: "peer", url: "http://b:1", member_id: "m-b", partition });
    seen.add(owner.kind);
  }
  assert.deepEqual([...seen].sort(), ["peer", "self"], "24 series land on both agents");
});

Deno.test("owner of a series: unknown (with the reason) mid-rebalance or without an address", () => {
  const rebalancing = clusterViewOf(
    group([member("m-a", "http://a:1", "ia", [0]), member("m-b", "http://b:1", "ib", [])]),
    "t.enriched",
    2,
    "keyed",
    "ia",
    0,
  );
  assert.deepEqual(unownedPartitions(rebalancing), [1]);
  const producer = new SeriesPartitioner(2);
  const hosts = Array.from({ length: 20 }, (_, index) => `h${index}`);
  const onOne = hosts.find((host) => producer.partition({ tenant: "t", host, metric: "m" }) === 1)!;
  const owner = ownerOfSeries(rebalancing, { tenant: "t", host: onOne, metric: "m" });
  assert.equal(owner.kind, "unknown");
  assert.match((owner as { reason: string }).reason, /partition 1 of t\.enriched has no owner/);

  const silent = clusterViewOf(
    group([member("m-x", undefined, "", [0, 1])]),
    "t.enriched",
    2,
    "keyed",
    "ia",
    0,
  );
  assert.match(
    (ownerOfSeries(silent, { tenant: "t", host: "h", metric: "m" }) as { reason: string }).reason,
    /advertises no address/,
  );
});

Deno.test("owner of a series in the local topology: the one member owning the raw topic", () => {
  const whole = clusterViewOf(
    group([member("m-b", "http://b:1", "ib", [0, 1])]),
    "t.enriched",
    2,
    "whole",
    "ia",
    0,
  );
  assert.equal(ownerOfSeries(whole, { tenant: "t", host: "h", metric: "m" }).kind, "peer");
  const split = clusterViewOf(
    group([member("m-a", "http://a:1", "ia", [0]), member("m-b", "http://b:1", "ib", [1])]),
    "t.enriched",
    2,
    "whole",
    "ia",
    0,
  );
  assert.equal(ownerOfSeries(split, { tenant: "t", host: "h", metric: "m" }).kind, "unknown");
});

Deno.test("advertised address: the bound host, else the first LAN IPv4 address, else loopback", () => {
  const interfaces = [
    { family: "IPv4" as const, address: "127.0.0.1" },
    { family: "IPv6" as const, address: "fe80::1" },
    { family: "IPv4" as const, address: "192.168.1.20" },
  ];
  assert.equal(reachableBaseUrl("127.0.0.1", 8088, interfaces), "http://127.0.0.1:8088");
  assert.equal(reachableBaseUrl("0.0.0.0", 8088, interfaces), "http://192.168.1.20:8088");
  assert.equal(reachableBaseUrl("0.0.0.0", 9000, interfaces.slice(0, 2)), "http://127.0.0.1:9000");
  assert.equal(reachableBaseUrl("::1", 8088, []), "http://[::1]:8088");
});
