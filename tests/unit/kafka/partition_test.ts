import assert from "node:assert/strict";
import { murmur2 } from "@platformatic/kafka";
import { partitionOf, SeriesPartitioner } from "../../../kafka/partition.ts";

const encoder = new TextEncoder();

Deno.test("partitionOf hashes as the Java client (its murmur2 test vectors, positive mask)", () => {
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2
  const vectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  // Modulo 2^31 leaves the masked hash itself.
  for (const [input, expected] of vectors) {
    assert.equal(partitionOf(input, 2 ** 31), expected & 0x7fffffff, input);
  }
});

Deno.test("partitionOf hashes the UTF-8 bytes of keys of every length", () => {
  for (let length = 0; length < 40; length++) {
    const key = `acme|host-${"é".repeat(length % 3)}${"x".repeat(length)}|cpu_load`;
    const bytes = encoder.encode(key);
    assert.equal(partitionOf(key, 2 ** 31), murmur2(Buffer.from(bytes)) & 0x7fffffff, key);
  }
});

Deno.test("SeriesPartitioner: the series key's partition, non-negative, below the count, cached", () => {
  const partitioner = new SeriesPartitioner(7, 4);
  const seen = new Set<number>();
  for (let index = 0; index < 100; index++) {
    const series = { tenant: "t", host: `h${index}`, metric: "m" };
    const partition = partitioner.partition(series);
    assert.equal(partition, partitionOf(`t|h${index}|m`, 7));
    assert.equal(partitioner.partition(series), partition);
    seen.add(partition);
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4, 5, 6]);
});
