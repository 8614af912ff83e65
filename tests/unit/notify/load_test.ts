/** Loading the notification file: secrets from files or EVENTOPS_NOTIFY_* variables, the sandbox's hosts. */
import assert from "node:assert/strict";
import { type LoadEnvironment, loadNotify } from "../../../notify/load.ts";

const FILE = `route: { receiver: ops }
receivers:
  - name: ops
    webhook_configs:
      - url: http://127.0.0.1:5678/hook
        http_config: { authorization: { credentials_env: EVENTOPS_NOTIFY_N8N } }
        hmac: { secret_file: /etc/eventops/hmac }
      - url: https://n8n.example.com/webhook/x
        http_config: { basic_auth: { username: bot, password_file: /etc/eventops/pw } }
    alertmanager_configs:
      - url: http://127.0.0.1:9093
`;

function environment(files: Record<string, string>, env: Record<string, string>): LoadEnvironment {
  return {
    readFile: (path) => {
      if (!(path in files)) throw new Deno.errors.NotFound(`No such file: ${path}`);
      return files[path];
    },
    env: (name) => env[name],
    netAllowed: (host) => host.startsWith("127.0.0.1:"),
  };
}

Deno.test("secrets come from files and EVENTOPS_NOTIFY_* variables; an unreachable host is refused with the fix", () => {
  let message = "";
  try {
    loadNotify(FILE, "notify.yaml", "http://agent:8088", environment({ "/etc/eventops/hmac": "k\n" }, {}));
  } catch (error) {
    message = (error as Error).message;
  }
  assert.match(
    message,
    /notify\.yaml:6:\d+: receivers\[0\]\.webhook_configs\[0\]\.http_config\.authorization\.credentials_env: EVENTOPS_NOTIFY_N8N is not set/,
  );
  assert.match(
    message,
    /notify\.yaml:8:\d+: receivers\[0\]\.webhook_configs\[1\]\.url: the agent's sandbox does not allow connecting to n8n\.example\.com:443: add "n8n\.example\.com" to permissions\.agent\.net/,
  );
  assert.match(message, /password_file: cannot read \/etc\/eventops\/pw/);

  const loaded = loadNotify(
    FILE.replace("https://n8n.example.com/webhook/x", "http://127.0.0.1:5679/x"),
    "notify.yaml",
    "http://agent:8088",
    environment({ "/etc/eventops/hmac": "k\n", "/etc/eventops/pw": "pass" }, {
      EVENTOPS_NOTIFY_N8N: " tok ",
    }),
  );
  assert.deepEqual(loaded.secrets.get("ops/webhook/0"), {
    authorization: "Bearer tok",
    hmacKey: "k",
    caCert: undefined,
  });
  assert.equal(loaded.secrets.get("ops/webhook/1")?.authorization, `Basic ${btoa("bot:pass")}`);
  assert.deepEqual([...loaded.plan.receivers.get("ops")!.integrations.map((i) => i.id)], [
    "ops/webhook/0",
    "ops/webhook/1",
    "ops/alertmanager/0",
  ]);
  assert.equal(loaded.plan.externalURL, "http://agent:8088");
});

Deno.test("a secret variable must be named EVENTOPS_NOTIFY_* (the only ones the sandbox reads)", () => {
  assert.throws(
    () =>
      loadNotify(
        FILE.replace("EVENTOPS_NOTIFY_N8N", "N8N_TOKEN"),
        "notify.yaml",
        "http://a",
        environment({}, {}),
      ),
    /credentials_env: expected an environment variable named EVENTOPS_NOTIFY_<NAME>/,
  );
});
