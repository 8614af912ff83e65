import assert from "node:assert/strict";
import type { Logger } from "../../../lib/log.ts";
import {
  HandoffLog,
  PartitionRestorer,
  type RebalanceSnapshot,
  type RestoreRange,
} from "../../../pipeline/restore.ts";

/** A logger keeping the errors it is given. */
function errorsLogger(errors: unknown[]): Logger {
  const ignore = () => {};
  return {
    debug: ignore,
    info: ignore,
    warn: ignore,
    error: (_message, fields) => errors.push(fields?.error),
  };
}

/** A snapshot: `owners` as [partition, owner] pairs, offsets committed per partition (log start 0). */
function snapshot(
  self: string,
  owners: [number, string][],
  committed: Record<number, bigint>,
  start = 0n,
): RebalanceSnapshot {
  const offsets = new Map(
    owners.map(([partition]) => [partition, { committed: committed[partition] ?? -1n, start }]),
  );
  return { self, owners: new Map(owners), members: new Set(owners.map(([, owner]) => owner)), offsets };
}

Deno.test("handoff: a partition gained from a departed owner is restored from that owner's start to the committed offset", () => {
  const log = new HandoffLog();
  // a, b and c split three partitions; nothing committed yet (each starts at the log's start).
  assert.deepEqual(log.rebalanced(snapshot("a", [[0, "a"], [1, "b"], [2, "c"]], {})), []);
  // c dies having committed 40 on partition 2; a gets it.
  const ranges = log.rebalanced(snapshot("a", [[0, "a"], [1, "b"], [2, "a"]], { 0: 50n, 1: 45n, 2: 40n }));
  assert.deepEqual(ranges, [{ partition: 2, from: 0n, to: 40n, departed: "c", whole: true }]);
  assert.deepEqual(log.tenure(2), { owner: "a", start: 0n, observed: true }, "a holds it from c's start now");
});

Deno.test("handoff: a live rebalance restores nothing (the previous owner still answers for its rows)", () => {
  const log = new HandoffLog();
  log.rebalanced(snapshot("a", [[0, "a"], [1, "a"]], {}));
  // b joins and takes partition 1: a keeps its rows of partition 1, reads add both up.
  assert.deepEqual(log.rebalanced(snapshot("b", [[0, "a"], [1, "b"]], { 0: 10n, 1: 12n })), []);
  const other = new HandoffLog();
  other.rebalanced(snapshot("a", [[0, "a"], [1, "a"]], {}));
  assert.deepEqual(other.rebalanced(snapshot("a", [[0, "a"], [1, "b"]], { 0: 10n, 1: 12n })), []);
  assert.deepEqual(other.tenure(1), { owner: "b", start: 12n, observed: true });
});

Deno.test("handoff: only the departed owner's tenure is read, not what a live earlier owner stored", () => {
  const log = new HandoffLog();
  log.rebalanced(snapshot("a", [[0, "a"], [1, "b"]], {}));
  // c joins and takes partition 1 from b at offset 100 (b keeps rows 0..99).
  log.rebalanced(snapshot("a", [[0, "a"], [1, "c"], [2, "b"]], { 0: 5n, 1: 100n, 2: 0n }));
  // c dies at 130: a restores 100..129 only.
  const ranges = log.rebalanced(snapshot("a", [[0, "a"], [1, "a"], [2, "b"]], { 0: 9n, 1: 130n, 2: 3n }));
  assert.deepEqual(ranges, [{ partition: 1, from: 100n, to: 130n, departed: "c", whole: true }]);
});

Deno.test("handoff: a chain of departures: the second heir restores from the first departed owner's start", () => {
  const log = new HandoffLog();
  log.rebalanced(snapshot("a", [[0, "a"], [1, "b"], [2, "c"]], {}));
  // c dies at 40: b restores partition 2 from 0 (a records that b holds it from 0).
  log.rebalanced({ ...snapshot("a", [[0, "a"], [1, "b"], [2, "b"]], { 0: 30n, 1: 35n, 2: 40n }) });
  assert.deepEqual(log.tenure(2), { owner: "b", start: 0n, observed: true });
  // b dies at 70: a restores partition 2 from 0 too (what b restored of c went with b).
  const ranges = log.rebalanced(snapshot("a", [[0, "a"], [1, "a"], [2, "a"]], { 0: 50n, 1: 60n, 2: 70n }));
  assert.deepEqual(ranges, [
    { partition: 1, from: 0n, to: 60n, departed: "b", whole: true },
    { partition: 2, from: 0n, to: 70n, departed: "b", whole: true },
  ]);
});

Deno.test("handoff: a first sight restores nothing; an owner first seen after commits is restored in part, said so", () => {
  const log = new HandoffLog();
  // This agent joins and gets partition 0 at once: who stored it before is not known.
  assert.deepEqual(log.rebalanced(snapshot("a", [[0, "a"]], { 0: 70n })), []);
  // Partition 1 already had commits when this agent first saw b owning it: b may hold rows before 10.
  const later = new HandoffLog();
  later.rebalanced(snapshot("a", [[0, "a"], [1, "b"]], { 1: 10n }));
  assert.deepEqual(later.tenure(1), { owner: "b", start: 10n, observed: false });
  const ranges = later.rebalanced(snapshot("a", [[0, "a"], [1, "a"]], { 1: 90n }));
  assert.deepEqual(ranges, [{ partition: 1, from: 10n, to: 90n, departed: "b", whole: false }]);
  // Gained back by this agent from itself (a new member id, same store): nothing.
  assert.deepEqual(later.rebalanced(snapshot("a", [[0, "a"], [1, "a"]], { 1: 95n })), []);
});

Deno.test("handoff: retention past the departed owner's start reads from the log's start, said so", () => {
  const log = new HandoffLog();
  log.rebalanced(snapshot("a", [[0, "a"], [1, "b"]], {}));
  const ranges = log.rebalanced(snapshot("a", [[0, "a"], [1, "a"]], { 1: 90n }, 60n));
  assert.deepEqual(ranges, [{ partition: 1, from: 60n, to: 90n, departed: "b", whole: false }]);
});

Deno.test("handoff: an owner that left without committing anything leaves nothing to restore", () => {
  const log = new HandoffLog();
  log.rebalanced(snapshot("a", [[0, "a"], [1, "b"]], {}));
  assert.deepEqual(log.rebalanced(snapshot("a", [[0, "a"], [1, "a"]], {})), []);
});

Deno.test("restorer: restoring() names the partitions until they are stored; settled() waits; failures are logged", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const read: RestoreRange[] = [];
  const snapshots: RebalanceSnapshot[] = [
    { ...snapshot("a", [[0, "a"], [1, "b"]], {}), instances: new Map([["a", "i-a"], ["b", "i-b1"]]) },
    snapshot("a", [[0, "a"], [1, "a"]], { 1: 8n }),
  ];
  const alertsWanted: unknown[] = [];
  const errors: unknown[] = [];
  const hidden: string[][] = [];
  const restorer = new PartitionRestorer({
    snapshot: () => Promise.resolve(snapshots.shift()),
    hide: (members) => {
      hidden.push([...members]);
      return Promise.resolve();
    },
    alerts: (wanted) => {
      alertsWanted.push(wanted);
      return Promise.resolve(3);
    },
    read: async (range, progress) => {
      read.push(range);
      await gate;
      progress({ messages: 2, events: 8, inserted: 8 });
    },
    log: errorsLogger(errors),
  });
  restorer.assigned();
  restorer.assigned();
  const settled = restorer.settled();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(restorer.restoring(), [1]);
  release();
  await settled;
  assert.deepEqual(restorer.restoring(), []);
  assert.deepEqual(read, [{ partition: 1, from: 0n, to: 8n, departed: "b", whole: true }]);
  assert.deepEqual(restorer.last?.incomplete, []);
  assert.equal(restorer.last?.inserted, 8);
  assert.deepEqual(restorer.last?.partitions, [1]);
  assert.deepEqual(
    hidden,
    [["a", "b"], ["a"]],
    "the members at each rebalance: rows restored from them are hidden",
  );

  const failing = new PartitionRestorer({
    snapshot: () => Promise.reject(new Error("broker gone")),
    read: () => Promise.resolve(),
    hide: () => Promise.resolve(),
    log: errorsLogger(errors),
  });
  failing.assigned();
  await failing.settled();
  assert.equal((errors[0] as Error).message, "broker gone");
  assert.deepEqual(failing.restoring(), []);
});
