/// <reference lib="dom" />
/**
 * The dashboard (runs in the browser; bundled by `ui/build.ts`). Plain DOM + uPlot, no framework.
 * Every text from the server is set with `textContent`, never parsed as HTML. One module of about
 * 650 lines on purpose: the page's state, chart, alerts and status strip share that state, and the
 * sections below (marked with `// ---`) read in page order; a framework or a split would add more
 * than it takes.
 *
 * @module
 */
import uPlot from "uplot";
import { type NotifyPanel, startNotifyPanel } from "./notify.ts";

// ------------------------------------------------------------------ API shapes (see /openapi.json)

interface Series {
  tenant: string;
  host: string;
  metric: string;
  unit?: string;
  rows: number;
  first_ts: string;
  last_ts: string;
}
interface Catalog {
  tenants: string[];
  metrics: string[];
  series: Series[];
}
interface Point {
  ts: string;
  value: number;
  unit?: string;
}
interface PointsResponse {
  points: Point[];
  truncated: boolean;
  step?: string;
  agg?: string;
}
interface Rule {
  name: string;
  metric: string;
  warning: number | null;
  critical: number | null;
  direction?: "above" | "below";
}
interface Alert {
  /** This agent's number of the alert; absent on another agent's (scale-out), which has `agent`. */
  seq?: number;
  agent?: string;
  id: string;
  fingerprint: string;
  rule: string;
  tenant: string;
  host: string;
  metric: string;
  severity: "warning" | "critical";
  state: "firing" | "resolved";
  value: number;
  threshold: number;
  starts_at: number;
  ends_at: number | null;
  ts: number;
}
interface Envelope {
  tenant: string;
  host: string;
  metric: string;
  value: number;
  unit: string;
  ts: number;
}
interface Status {
  version: string;
  uptime_s: number;
  rates: Record<string, number>;
  consumer_lag: number | null;
  dlq: { total: number; by_stage: Record<string, number> };
  api: { sse_clients: { alerts: number; events: number }; rss_bytes: number };
}

// ------------------------------------------------------------------ helpers

const TOKEN_KEY = "eventops.token";
const MAX_POINTS = 5_000;
const MAX_ALERTS = 100;
const RAW_POINTS_LIMIT = 2_000;

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`missing #${id}`);
  return found as T;
}

function h(tag: string, className?: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (Number.isInteger(n)) return String(n);
  return abs >= 100 ? n.toFixed(0) : abs >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function fmtDuration(seconds: number): string {
  if (seconds < 60) return `${Math.floor(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

const dateFmt = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

function fmtWhen(ms: number): string {
  const ago = (Date.now() - ms) / 1000;
  if (ago < 0 || ago > 86400) return dateFmt.format(new Date(ms));
  if (ago < 60) return "just now";
  if (ago < 3600) return `${Math.floor(ago / 60)} min ago`;
  return `${Math.floor(ago / 3600)} h ago`;
}

// ------------------------------------------------------------------ HTTP with the optional token

let token = localStorage.getItem(TOKEN_KEY) ?? "";

class Unauthorized extends Error {}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (res.status === 401 || res.status === 403) {
    el("token-banner").hidden = false;
    throw new Unauthorized(`${path}: ${res.status}`);
  }
  if (!res.ok) {
    let message = `${res.status}`;
    try {
      const body = await res.json() as { error?: { message?: string } };
      message = body.error?.message ?? message;
    } catch {
      // not JSON
    }
    throw new Error(`${path}: ${message}`);
  }
  return await res.json() as T;
}

function streamUrl(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, v);
  if (token) q.set("access_token", token);
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

// ------------------------------------------------------------------ state

const state = {
  catalog: { tenants: [], metrics: [], series: [] } as Catalog,
  rules: [] as Rule[],
  tenant: "",
  host: "",
  metric: "",
  range: "all",
  xs: [] as number[],
  ys: [] as number[],
  unit: "",
  chart: null as uPlot | null,
  events: null as EventSource | null,
  /** By alert id (unique across agents; the seq is each agent's own). */
  alerts: new Map<string, Alert>(),
  alertStream: null as EventSource | null,
  redrawPending: false,
  /** How the loaded data was queried: `avg per 1m` for buckets, undefined for raw points. */
  bucketed: undefined as string | undefined,
  truncated: false,
};

// ------------------------------------------------------------------ selection

function fillSelect(select: HTMLSelectElement, values: string[], current: string): string {
  select.replaceChildren(...values.map((v) => {
    const option = document.createElement("option");
    option.value = v;
    option.textContent = v;
    return option;
  }));
  const value = values.includes(current) ? current : (values[0] ?? "");
  select.value = value;
  select.disabled = values.length === 0;
  return value;
}

function uniq(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function syncSelects(): void {
  const { series } = state.catalog;
  state.tenant = fillSelect(el("tenant"), uniq(series.map((s) => s.tenant)), state.tenant);
  const ofTenant = series.filter((s) => s.tenant === state.tenant);
  state.host = fillSelect(el("host"), uniq(ofTenant.map((s) => s.host)), state.host);
  const ofHost = ofTenant.filter((s) => s.host === state.host);
  state.metric = fillSelect(el("metric"), uniq(ofHost.map((s) => s.metric)), state.metric);
  (el<HTMLSelectElement>("range")).value = state.range;
  const hash = new URLSearchParams({
    tenant: state.tenant,
    host: state.host,
    metric: state.metric,
    range: state.range,
  });
  history.replaceState(null, "", `#${hash}`);
}

function currentSeries(): Series | undefined {
  return state.catalog.series.find((s) =>
    s.tenant === state.tenant && s.host === state.host && s.metric === state.metric
  );
}

// ------------------------------------------------------------------ chart

interface Threshold {
  kind: "warning" | "critical";
  value: number;
  rule: string;
  /** The rule fires below the value (e.g. free disk), not above. */
  below: boolean;
}

function thresholds(): Threshold[] {
  const out: Threshold[] = [];
  for (const r of state.rules) {
    if (r.metric !== state.metric) continue;
    const below = r.direction === "below";
    if (r.warning !== null) out.push({ kind: "warning", value: r.warning, rule: r.name, below });
    if (r.critical !== null) out.push({ kind: "critical", value: r.critical, rule: r.name, below });
  }
  return out;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function drawThresholds(u: uPlot): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const dpr = devicePixelRatio || 1;
  ctx.save();
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  for (const t of thresholds()) {
    const y = Math.round(u.valToPos(t.value, "y", true));
    if (y < top || y > top + height) continue;
    const color = cssVar(t.kind === "critical" ? "--crit" : "--warn");
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1.5 * dpr;
    ctx.setLineDash([6 * dpr, 4 * dpr]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    ctx.fillText(`${t.kind} ${fmtNumber(t.value)}`, left + width - 4 * dpr, y - 3 * dpr);
  }
  ctx.restore();
}

function yRange(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  const values = [...thresholds().map((t) => t.value)];
  if (min !== null && Number.isFinite(min)) values.push(min);
  if (max !== null && Number.isFinite(max)) values.push(max);
  if (values.length === 0) return [0, 1];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    lo -= 1;
    hi += 1;
  }
  const pad = (hi - lo) * 0.08;
  return [lo >= 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad];
}

function chartSize(): { width: number; height: number } {
  const box = el("chart");
  const width = Math.max(240, box.clientWidth);
  return { width, height: width < 500 ? 240 : 340 };
}

function makeChart(): uPlot {
  const muted = cssVar("--muted");
  const grid = cssVar("--border");
  const accent = cssVar("--accent");
  const axis: uPlot.Axis = {
    stroke: muted,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    font: "12px system-ui, sans-serif",
  };
  const opts: uPlot.Options = {
    ...chartSize(),
    legend: { show: false },
    // Room on the right for the last x-axis label (centred on the plot's edge).
    padding: [12, 28, 0, 0],
    cursor: { drag: { x: true, y: false }, points: { size: 7 } },
    scales: { x: { time: true }, y: { range: yRange } },
    axes: [axis, { ...axis, size: 56, values: (_u, splits) => splits.map((v) => fmtNumber(v)) }],
    series: [
      {},
      {
        label: state.metric,
        stroke: accent,
        width: 2,
        fill: "rgba(90, 162, 255, 0.10)",
        points: { show: (u: uPlot) => (u.data[0]?.length ?? 0) < 60, size: 6, fill: accent },
        value: (_u, v) => (v === null ? "—" : fmtNumber(v)),
      },
    ],
    hooks: { draw: [drawThresholds], setCursor: [(u: uPlot) => renderLast(u.cursor.idx ?? undefined)] },
  };
  return new uPlot(opts, [state.xs, state.ys], el("chart"));
}

function renderChart(): void {
  const has = state.xs.length > 0;
  el("chart-empty").hidden = has;
  if (!state.chart) state.chart = makeChart();
  state.chart.setData([state.xs, state.ys]);
  renderLegend();
  renderLast();
}

function scheduleRedraw(): void {
  if (state.redrawPending) return;
  state.redrawPending = true;
  requestAnimationFrame(() => {
    state.redrawPending = false;
    renderChart();
  });
}

function renderLegend(): void {
  const items = [h("li")];
  items[0].append(h("i"), document.createTextNode(state.metric || "series"));
  for (const t of thresholds()) {
    const li = h("li");
    li.append(
      h("i", t.kind),
      document.createTextNode(`${t.kind} ${t.below ? "≤" : "≥"} ${fmtNumber(t.value)}`),
    );
    items.push(li);
  }
  el("legend").replaceChildren(...items);
}

const clockFmt = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** A short time: the clock for today, date and time otherwise. */
function fmtTime(ms: number): string {
  return Math.abs(Date.now() - ms) < 86_400_000
    ? clockFmt.format(new Date(ms))
    : dateFmt.format(new Date(ms));
}

/** Shows the value under the cursor (`idx`) or, without one, the latest value. */
function renderLast(idx?: number): void {
  const i = idx ?? state.ys.length - 1;
  const last = i >= 0 && i < state.ys.length ? state.ys[i] : undefined;
  const x = i >= 0 && i < state.xs.length ? state.xs[i] : undefined;
  el("last-time").textContent = x === undefined
    ? ""
    : `${idx === undefined ? "latest " : ""}${fmtTime(x * 1000)}`;
  const valueEl = el("last-value");
  valueEl.textContent = last === undefined ? "—" : fmtNumber(last);
  let level = "";
  if (last !== undefined) {
    for (const t of thresholds()) {
      const crossed = t.below ? last <= t.value : last >= t.value;
      if (crossed && (level === "" || t.kind === "critical")) level = t.kind;
    }
  }
  valueEl.className = `last-value ${level}`;
  el("last-unit").textContent = state.unit;
}

async function loadSeries(): Promise<void> {
  const s = currentSeries();
  el("series-title").textContent = state.metric || "No data yet";
  state.events?.close();
  state.events = null;
  if (!s) {
    state.xs = [];
    state.ys = [];
    el("series-sub").textContent = "Send events (POST /ingest or the raw Kafka topic) to see them here.";
    renderChart();
    return;
  }
  const first = Date.parse(s.first_ts);
  const last = Date.parse(s.last_ts);
  const from = state.range === "all" ? first : Math.max(first, last - Number(state.range));
  const to = last + 1;
  const q = new URLSearchParams({
    tenant: s.tenant,
    host: s.host,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
  });
  const estimated = state.range === "all"
    ? s.rows
    : Math.ceil(s.rows * ((to - from) / Math.max(1, last - first + 1)));
  if (estimated > RAW_POINTS_LIMIT) {
    q.set("step", `${Math.max(1, Math.ceil((to - from) / 600 / 1000))}s`);
    q.set("agg", "avg");
    q.set("limit", "1000");
  } else {
    q.set("limit", String(RAW_POINTS_LIMIT));
  }
  const res = await api<PointsResponse>(`/metrics/${encodeURIComponent(s.metric)}?${q}`);
  state.xs = res.points.map((p) => Date.parse(p.ts) / 1000);
  state.ys = res.points.map((p) => p.value);
  state.unit = s.unit ?? res.points[0]?.unit ?? "";
  state.bucketed = res.step ? `${res.agg} per ${res.step}` : undefined;
  state.truncated = res.truncated;
  renderSub();
  renderChart();
  openEventStream();
}

/** The line under the title: series, and the point count (kept current as live points arrive). */
function renderSub(): void {
  const how = state.bucketed ?? `${state.xs.length} ${state.xs.length === 1 ? "point" : "points"}`;
  el("series-sub").textContent = `${state.tenant} · ${state.host} · ${how}${
    state.truncated ? " (truncated)" : ""
  }`;
}

function openEventStream(): void {
  const source = new EventSource(
    streamUrl("/events/stream", { tenant: state.tenant, host: state.host, metric: state.metric }),
  );
  source.addEventListener("event", (e) => {
    const env = JSON.parse((e as MessageEvent<string>).data) as Envelope;
    if (env.tenant !== state.tenant || env.host !== state.host || env.metric !== state.metric) return;
    const x = env.ts / 1000;
    // Usually an append; insert in order when events arrive late.
    let i = state.xs.length;
    while (i > 0 && state.xs[i - 1] > x) i--;
    state.xs.splice(i, 0, x);
    state.ys.splice(i, 0, env.value);
    if (state.xs.length > MAX_POINTS) {
      state.xs.splice(0, state.xs.length - MAX_POINTS);
      state.ys.splice(0, state.ys.length - MAX_POINTS);
    }
    state.unit ||= env.unit;
    if (state.bucketed === undefined) renderSub();
    scheduleRedraw();
  });
  state.events = source;
}

// ------------------------------------------------------------------ alerts

function renderAlerts(): void {
  const list = [...state.alerts.values()].sort(newestFirst).slice(0, MAX_ALERTS);
  for (const id of [...state.alerts.keys()]) if (!list.some((x) => x.id === id)) state.alerts.delete(id);
  const latest = new Map<string, Alert>();
  for (const a of [...list].reverse()) latest.set(a.fingerprint, a);
  const firing = [...latest.values()].filter((a) => a.state === "firing").length;
  const pill = el("firing-count");
  pill.textContent = `${firing} firing`;
  pill.classList.toggle("hot", firing > 0);
  el("alerts-empty").hidden = list.length > 0;
  el("alerts").replaceChildren(...list.map(alertItem));
}

/** Newest first: by event time, then (one agent's) seq, then id, as `GET /alerts` merges several agents'. */
function newestFirst(a: Alert, b: Alert): number {
  return b.ts - a.ts || (b.seq ?? 0) - (a.seq ?? 0) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

const fresh = new Set<string>();

function alertItem(a: Alert): HTMLElement {
  const li = h(
    "li",
    `alert ${a.state === "resolved" ? "resolved" : a.severity}${fresh.has(a.id) ? " fresh" : ""}`,
  );
  fresh.delete(a.id);
  const top = h("div", "row");
  const title = h("div", "rule");
  const tag = a.state === "resolved" ? "resolved" : a.severity;
  title.append(
    h("span", `tag ${tag}`, a.state === "resolved" ? "resolved" : a.severity),
    document.createTextNode(a.rule),
  );
  const when = h("span", "when", fmtWhen(a.ts));
  when.title = new Date(a.ts).toISOString();
  top.append(title, when);
  const what = h("div", "what");
  // A resolved alert's threshold is the clear level it went back under (over, for `below` rules).
  const below = state.rules.find((r) => r.name === a.rule)?.direction === "below";
  const limit = fmtNumber(a.threshold);
  what.append(
    document.createTextNode(`${a.tenant} / ${a.host} · ${a.metric} `),
    h("b", undefined, fmtNumber(a.value)),
    document.createTextNode(
      a.state === "resolved"
        ? ` (back ${below ? "above" : "below"} ${limit})`
        : ` ${below ? "≤" : "≥"} ${limit}`,
    ),
  );
  li.append(top, what);
  li.title = "Show this series";
  li.addEventListener("click", () => {
    if (
      !state.catalog.series.some((s) => s.tenant === a.tenant && s.host === a.host && s.metric === a.metric)
    ) return;
    state.tenant = a.tenant;
    state.host = a.host;
    state.metric = a.metric;
    syncSelects();
    void loadSeries().catch(report);
  });
  return li;
}

function setConn(kind: "live" | "connecting" | "down", text: string): void {
  el("conn").dataset.state = kind;
  el("conn-text").textContent = text;
}

async function startAlerts(): Promise<void> {
  const res = await api<{ alerts: Alert[]; agents?: string[] }>("/alerts?limit=50");
  for (const a of res.alerts) state.alerts.set(a.id, a);
  renderAlerts();
  // One agent: the stream resumes after the newest listed seq. Several (scale-out): the list mixes their
  // seqs, so the stream replays this agent's latest alerts instead (the others' come live); ids dedupe.
  const clustered = (res.agents?.length ?? 1) > 1;
  const since = res.alerts.reduce((m, a) => Math.max(m, a.seq ?? 0), 0);
  const source = new EventSource(
    streamUrl("/alerts/stream", clustered ? { replay: "50" } : { since: String(since) }),
  );
  source.addEventListener("open", () => setConn("live", "live"));
  source.addEventListener("error", () => {
    setConn(
      source.readyState === EventSource.CLOSED ? "down" : "connecting",
      source.readyState === EventSource.CLOSED ? "offline" : "reconnecting",
    );
  });
  source.addEventListener("alert", (e) => {
    const a = JSON.parse((e as MessageEvent<string>).data) as Alert;
    if (state.alerts.has(a.id)) return;
    state.alerts.set(a.id, a);
    fresh.add(a.id);
    renderAlerts();
    void notifyPanel.refresh();
  });
  state.alertStream = source;
}

// ------------------------------------------------------------------ status strip

function stat(label: string, value: string, level = "", extra = ""): HTMLElement {
  const box = h("div", `stat ${level} ${extra}`.trim());
  box.append(h("span", "k", label), h("span", "v", value));
  return box;
}

async function refreshStatus(): Promise<void> {
  try {
    const s = await api<Status>("/status");
    const boxes: HTMLElement[] = [];
    // Fixed boxes so the strip does not change shape when the first rates arrive (after ~2 s).
    for (const name of ["consumed", "stored", "alerts"]) {
      const rate = s.rates[name];
      boxes.push(stat(`${name}/s`, rate === undefined ? "—" : fmtNumber(rate)));
    }
    const lag = s.consumer_lag;
    boxes.push(stat("Lag", lag === null ? "—" : fmtNumber(lag), lag !== null && lag > 10_000 ? "warn" : ""));
    boxes.push(stat("DLQ", fmtNumber(s.dlq.total), s.dlq.total > 0 ? "warn" : ""));
    boxes.push(stat("Uptime", fmtDuration(s.uptime_s)));
    boxes.push(stat("Memory", `${fmtNumber(Math.round(s.api.rss_bytes / 1048576))} MB`, "", "wide-only"));
    el("status").replaceChildren(...boxes);
    el("version").textContent = `eventops ${s.version}`;
  } catch (err) {
    if (!(err instanceof Unauthorized)) el("status").replaceChildren(stat("Status", "unavailable", "bad"));
  }
}

// ------------------------------------------------------------------ start

function report(err: unknown): void {
  if (err instanceof Unauthorized) return;
  console.error(err);
  el("series-sub").textContent = err instanceof Error ? err.message : String(err);
}

/** Firing alerts (silence, acknowledge) and silences: `ui/src/notify.ts`. */
const notifyPanel: NotifyPanel = startNotifyPanel({
  get: api,
  token: () => token,
  askToken: (why) => {
    el("token-why").textContent = why;
    el("token-banner").hidden = false;
  },
  h,
  el,
  fmtNumber,
  fmtWhen,
});

async function start(): Promise<void> {
  const hash = new URLSearchParams(location.hash.slice(1));
  state.tenant = hash.get("tenant") ?? "";
  state.host = hash.get("host") ?? "";
  state.metric = hash.get("metric") ?? "";
  state.range = hash.get("range") ?? "all";

  const onChange = (key: "tenant" | "host" | "metric" | "range") => (e: Event) => {
    state[key] = (e.target as HTMLSelectElement).value;
    syncSelects();
    void loadSeries().catch(report);
  };
  el("tenant").addEventListener("change", onChange("tenant"));
  el("host").addEventListener("change", onChange("host"));
  el("metric").addEventListener("change", onChange("metric"));
  el("range").addEventListener("change", onChange("range"));
  el("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = el<HTMLInputElement>("token-input").value.trim();
    localStorage.setItem(TOKEN_KEY, token);
    location.reload();
  });
  new ResizeObserver(() => state.chart?.setSize(chartSize())).observe(el("chart"));
  setInterval(() => {
    renderAlerts();
  }, 30_000);

  void refreshStatus();
  setInterval(() => void refreshStatus(), 5_000);
  void startAlerts().catch(report);
  void notifyPanel.refresh();
  setInterval(() => void notifyPanel.refresh(), 10_000);

  const [catalog, rules] = await Promise.all([
    api<Catalog>("/metrics"),
    api<{ rules: Rule[] }>("/rules"),
  ]);
  state.catalog = catalog;
  state.rules = rules.rules;
  renderAlerts(); // the alert texts use the rules' directions
  if (!state.tenant && catalog.series.length > 0) {
    // Start with the series that has the most recent data.
    const newest = [...catalog.series].sort((a, b) => Date.parse(b.last_ts) - Date.parse(a.last_ts))[0];
    state.tenant = newest.tenant;
    state.host = newest.host;
    state.metric = newest.metric;
  }
  syncSelects();
  await loadSeries();
  setInterval(() => void refreshCatalog().catch(report), 30_000);
}

/** Picks up new series without disturbing the current view. */
async function refreshCatalog(): Promise<void> {
  const before = currentSeries();
  state.catalog = await api<Catalog>("/metrics");
  syncSelects();
  if (!before && currentSeries()) await loadSeries();
}

start().catch(report);
