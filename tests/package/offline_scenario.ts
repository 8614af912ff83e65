/**
 * Run inside a network namespace with only loopback (`unshare --net`, by executable_test.ts): starts
 * a Kafka broker in the same namespace, copies the executable alone into an empty directory, runs
 * the scenario (version, run, seed, HTTP, query; settings from the environment, no config file) with
 * every process traced by strace (network calls),
 * stops the broker and prints the result as JSON.
 *
 *   deno run -A tests/package/offline_scenario.ts EXECUTABLE WORK_DIR
 *
 * @module
 */
import { ROOT, serveSeedEvents, sh, TEST_TOKEN } from "./helpers.ts";

const [executable, work] = Deno.args;
const brokerEnv = { EVENTOPS_BROKER_PORT: "9092", EVENTOPS_BROKER_DIR: `${work}/broker` };
const broker = await sh("bash", [`${ROOT}scripts/broker/broker.sh`, "start"], { env: brokerEnv });
if (broker.code !== 0) throw new Error(`broker start failed:\n${broker.stderr}`);
try {
  const dir = `${work}/empty`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.mkdir(`${work}/trace`, { recursive: true });
  await Deno.copyFile(executable, `${dir}/eventops`);
  await Deno.chmod(`${dir}/eventops`, 0o755);
  const listing = [...Deno.readDirSync(dir)].map((entry) => entry.name);
  const result = await serveSeedEvents({
    executable: "./eventops",
    cwd: dir,
    wrapper: ["strace", "-f", "-ff", "-qq", "-e", "trace=%network", "-o", `${work}/trace/net`],
    env: {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: `${work}/home`,
      EVENTOPS_CACHE_DIR: `${work}/cache`,
      // No config file: the default topics on this namespace's new broker, settings from the environment.
      EVENTOPS_BROKERS: "127.0.0.1:9092",
      EVENTOPS_HTTP_HOST: "127.0.0.1",
      EVENTOPS_HTTP_PORT: "8088",
      EVENTOPS_HTTP_TOKEN: TEST_TOKEN,
      EVENTOPS_RETENTION: "0s",
    },
    port: 8088,
  });
  console.log(JSON.stringify({ listing, result }));
} finally {
  await sh("bash", [`${ROOT}scripts/broker/broker.sh`, "stop"], { env: brokerEnv });
}
