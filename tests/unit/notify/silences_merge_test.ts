/**
 * Taking another agent's silences (scale-out): the newest version of each wins.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { fromApiMatcher } from "../../../config/notify_matchers.ts";
import {
  type GettableSilence,
  gettableSilence,
  type Silence,
  silencesToTake,
} from "../../../notify/silences.ts";

const NOW = Date.UTC(2026, 11, 5, 10);

function silence(id: string, updatedAt: number, comment = "why"): Silence {
  return {
    id,
    matchers: [fromApiMatcher({ name: "host", value: "h1", isRegex: false, isEqual: true })],
    startsAt: NOW - 60_000,
    endsAt: NOW + 3_600_000,
    createdBy: "test",
    comment,
    updatedAt,
  };
}

Deno.test("silencesToTake: unknown and newer silences are taken as they are, older and equal ones are not", () => {
  const local = new Map([
    ["a", silence("a", NOW - 10_000, "here, older")],
    ["b", silence("b", NOW, "here, same age")],
    ["c", silence("c", NOW + 5_000, "here, newer")],
  ]);
  const peer: GettableSilence[] = [
    gettableSilence(silence("a", NOW, "there, newer"), NOW),
    gettableSilence(silence("b", NOW, "there, same age"), NOW),
    gettableSilence(silence("c", NOW, "there, older"), NOW),
    gettableSilence(silence("d", NOW, "there only"), NOW),
  ];
  const taken = silencesToTake(local, peer);
  deepStrictEqual(taken.map((s) => [s.id, s.comment]), [["a", "there, newer"], ["d", "there only"]]);
  deepStrictEqual(taken[1], silence("d", NOW, "there only"), "round-trips through the API shape");
});

Deno.test("silencesToTake: a silence whose matcher or time does not parse is left out", () => {
  const good = gettableSilence(silence("g", NOW), NOW);
  const badTime = { ...gettableSilence(silence("t", NOW), NOW), endsAt: "soon" };
  const badMatcher = {
    ...gettableSilence(silence("m", NOW), NOW),
    matchers: [{ name: "host", value: "(", isRegex: true, isEqual: true }],
  };
  const taken = silencesToTake(new Map(), [badTime, badMatcher, good]);
  equal(taken.length, 1);
  equal(taken[0].id, "g");
});
