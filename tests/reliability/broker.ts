/**
 * A broker of a test's own (scripts/broker/broker.sh on its own ports and data directory), for
 * tests that stop and start it: other tests keep the shared broker.
 *
 * @module
 */
import { freePort } from "../../testing/agent.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A dedicated single-node broker. */
export class DedicatedBroker {
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;

  private constructor(port: number, controllerPort: number) {
    this.port = port;
    this.controllerPort = controllerPort;
    this.dir = `${ROOT}.cache/broker-reliability-${port}`;
  }

  /**
   * A broker on `EVENTOPS_OUTAGE_BROKER_PORT` (its controller on that port + 1000), or on free
   * ports; not started yet, with a fresh data directory.
   */
  static async create(): Promise<DedicatedBroker> {
    const fixed = Deno.env.get("EVENTOPS_OUTAGE_BROKER_PORT");
    const broker = fixed
      ? new DedicatedBroker(Number(fixed), Number(fixed) + 1000)
      : new DedicatedBroker(await freePort(), await freePort());
    await Deno.remove(broker.dir, { recursive: true }).catch(() => undefined);
    return broker;
  }

  /** `host:port` for clients. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the broker and waits until it answers metadata requests. */
  start(): Promise<void> {
    return this.#script("start");
  }

  /** Stops the broker (SIGTERM, then SIGKILL after 30 s). */
  stop(): Promise<void> {
    return this.#script("stop");
  }

  /** Kills the broker (SIGKILL: a crash or a power cut, no graceful shutdown) and waits until it is gone. */
  async kill(): Promise<void> {
    const pid = Number((await Deno.readTextFile(`${this.dir}/broker.pid`)).trim());
    Deno.kill(pid, "SIGKILL");
    for (;;) {
      try {
        Deno.kill(pid, "SIGCONT");
      } catch {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops the broker and removes its data. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await Deno.remove(this.dir, { recursive: true }).catch(() => undefined);
  }

  async #script(command: "start" | "stop"): Promise<void> {
    const output = await new Deno.Command("bash", {
      args: [`${ROOT}scripts/broker/broker.sh`, command],
      env: {
        EVENTOPS_BROKER_PORT: String(this.port),
        EVENTOPS_CONTROLLER_PORT: String(this.controllerPort),
        EVENTOPS_BROKER_DIR: this.dir,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (output.code !== 0) {
      throw new Error(`broker.sh ${command} failed: ${new TextDecoder().decode(output.stderr)}`);
    }
  }
}
