/// <reference lib="dom" />
/**
 * The dashboard's alert delivery panel: the alerts firing now (`GET /alerts/active`), each with
 * "Silence 1h" (a silence on its alertname, tenant and host) and "Ack", and the active silences with
 * "Expire". Writes need the API token: without one (or with a wrong one) the token banner asks for
 * it. Every text from the server is set with `textContent`.
 *
 * @module
 */

/** One row of `GET /alerts/active`. */
interface ActiveAlert {
  fingerprint: string;
  rule: string;
  tenant: string;
  host: string;
  metric: string;
  severity: "warning" | "critical";
  value: number;
  since: number;
  silenced_by: string[];
  inhibited_by: string | null;
  acked: { acked_by: string; acked_at: number } | null;
}

/** One silence of `GET /silences` (Alertmanager's shape). */
interface Silence {
  id: string;
  status: { state: "pending" | "active" | "expired" };
  matchers: { name: string; value: string; isRegex: boolean; isEqual: boolean }[];
  endsAt: string;
  createdBy: string;
  comment: string;
}

/** What the panel borrows from the dashboard. */
export interface PanelDeps {
  /** GET as JSON (with the token when there is one); throws on errors. */
  get<T>(path: string): Promise<T>;
  /** The API token (empty when none was given). */
  token(): string;
  /** Asks for the token (shows the banner with `why`). */
  askToken(why: string): void;
  h(tag: string, className?: string, text?: string): HTMLElement;
  el<T extends HTMLElement = HTMLElement>(id: string): T;
  fmtNumber(n: number): string;
  fmtWhen(ms: number): string;
}

/** A running panel. */
export interface NotifyPanel {
  /** Reads active alerts and silences again. */
  refresh(): Promise<void>;
}

const SILENCE_MS = 3_600_000;

function matcherText(m: Silence["matchers"][number]): string {
  const op = m.isRegex ? (m.isEqual ? "=~" : "!~") : (m.isEqual ? "=" : "!=");
  return `${m.name}${op}"${m.value}"`;
}

/** Starts the panel (hidden when this agent has no alert delivery, 503). */
export function startNotifyPanel(deps: PanelDeps): NotifyPanel {
  const { h, el } = deps;

  async function write(method: string, path: string, body?: unknown): Promise<boolean> {
    if (deps.token() === "") {
      deps.askToken("Silencing and acknowledging alerts need the API token.");
      return false;
    }
    const res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${deps.token()}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401 || res.status === 403) {
      deps.askToken("The API token was refused; silencing and acknowledging need the write token.");
      return false;
    }
    if (!res.ok) {
      const answer = await res.json().catch(() => ({})) as { error?: { message?: string } };
      el("active-error").textContent = answer.error?.message ?? `${method} ${path}: ${res.status}`;
      return false;
    }
    el("active-error").textContent = "";
    return true;
  }

  function button(label: string, title: string, action: () => Promise<boolean>): HTMLElement {
    const b = h("button", "mini", label) as HTMLButtonElement;
    b.type = "button";
    b.title = title;
    b.addEventListener("click", async (event) => {
      event.stopPropagation();
      b.disabled = true;
      try {
        if (await action()) await panel.refresh();
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  function activeRow(a: ActiveAlert): HTMLElement {
    const li = h("li", `alert active ${a.severity}`);
    li.dataset.fingerprint = a.fingerprint;
    const top = h("div", "row");
    const title = h("div", "rule");
    title.append(h("span", `tag ${a.severity}`, a.severity), document.createTextNode(a.rule));
    const since = h("span", "when", `since ${deps.fmtWhen(a.since)}`);
    since.title = new Date(a.since).toISOString();
    top.append(title, since);
    const what = h("div", "what");
    what.append(
      document.createTextNode(`${a.tenant} / ${a.host} · ${a.metric} `),
      h("b", undefined, deps.fmtNumber(a.value)),
    );
    const badges = h("div", "badges");
    if (a.silenced_by.length > 0) badges.append(h("span", "badge silenced", "silenced"));
    if (a.inhibited_by !== null) badges.append(h("span", "badge inhibited", "inhibited"));
    if (a.acked !== null) badges.append(h("span", "badge acked", `acked by ${a.acked.acked_by}`));
    const actions = h("div", "actions");
    if (a.silenced_by.length === 0) {
      actions.append(
        button("Silence 1h", "No notifications for this alert (rule, tenant, host) for an hour", () => {
          const now = Date.now();
          return write("POST", "/silences", {
            matchers: [
              { name: "alertname", value: a.rule, isRegex: false, isEqual: true },
              { name: "tenant", value: a.tenant, isRegex: false, isEqual: true },
              { name: "host", value: a.host, isRegex: false, isEqual: true },
            ],
            startsAt: new Date(now).toISOString(),
            endsAt: new Date(now + SILENCE_MS).toISOString(),
            createdBy: "dashboard",
            comment: "silenced from the dashboard",
          });
        }),
      );
    }
    if (a.acked === null) {
      actions.append(
        button(
          "Ack",
          "Acknowledge: no repeat notifications until it resolves or changes severity",
          () => write("POST", `/alerts/${a.fingerprint}/ack`, { by: "dashboard" }),
        ),
      );
    }
    li.append(top, what, badges, actions);
    return li;
  }

  function silenceRow(s: Silence): HTMLElement {
    const li = h("li", "silence");
    li.dataset.id = s.id;
    li.append(
      h("div", "matchers", s.matchers.map(matcherText).join(", ")),
      h("div", "what", `until ${new Date(s.endsAt).toLocaleString()} · ${s.createdBy}: ${s.comment}`),
      button(
        "Expire",
        "End this silence now",
        () => write("DELETE", `/silences/${encodeURIComponent(s.id)}`),
      ),
    );
    return li;
  }

  const panel: NotifyPanel = {
    async refresh() {
      let active: { alerts: ActiveAlert[] };
      let silences: Silence[];
      try {
        [active, silences] = await Promise.all([
          deps.get<{ alerts: ActiveAlert[] }>("/alerts/active"),
          deps.get<Silence[]>("/silences?state=active"),
        ]);
      } catch {
        el("active-block").hidden = true;
        return;
      }
      el("active-block").hidden = false;
      el("active-alerts").replaceChildren(...active.alerts.map(activeRow));
      el("active-empty").hidden = active.alerts.length > 0;
      el("silences").replaceChildren(...silences.map(silenceRow));
      el("silences-block").hidden = silences.length === 0;
    },
  };
  return panel;
}
