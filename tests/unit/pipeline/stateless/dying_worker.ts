/**
 * A stand-in for `pipeline/stateless/worker.ts` that speaks its protocol but dies (an uncaught
 * error) shortly after each start, for the supervisor test in `thread_test.ts`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type {
  FromStatelessWorker,
  ToStatelessWorker,
} from "../../../../pipeline/stateless/worker_protocol.ts";

const send = (message: FromStatelessWorker) => self.postMessage(message);

self.onmessage = ({ data }: MessageEvent<ToStatelessWorker>) => {
  if (data.type === "start") {
    // One normalize.in per start: the test counts the starts with it.
    send({ type: "count", counter: { stage: "normalize", kind: "in" }, amount: 1 });
    send({ type: "started" });
    setTimeout(() => {
      throw new Error("simulated crash");
    }, 50);
  } else {
    send({ type: "stopped" });
    self.close();
  }
};
