/**
 * Writes the README's list of metric families from their declaration (`telemetry/doc.ts`).
 * Run: `deno task docs:metrics`, then `deno fmt README.md`.
 *
 * @module
 */
import { withMetricFamilies } from "../telemetry/doc.ts";

const README = new URL("../README.md", import.meta.url);
await Deno.writeTextFile(README, withMetricFamilies(await Deno.readTextFile(README)));
console.log("wrote the metric families of README.md");
