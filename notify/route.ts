/**
 * The route tree, as Alertmanager's dispatcher walks it: depth first, left to right; a route
 * matches when its matchers pass, and then its children are tried in order, stopping after the
 * first match unless that child has `continue: true`; a route none of whose children matched is
 * itself the match. Unset options are inherited from the parent (the root's defaults: group_wait
 * 30s, group_interval 5m, repeat_interval 4h, no grouping labels).
 *
 * A group is (route, values of its `group_by` labels); its key is Alertmanager's:
 * `{}/{severity="critical"}:{alertname="cpu_high"}` (the route's matchers from the root, then the
 * group labels).
 *
 * @module
 */
import type { RouteConfig } from "../config/notify.ts";
import { ROUTE_DEFAULTS } from "../config/notify.ts";
import {
  formatMatcherList,
  type LabelMatcher,
  type LabelSet,
  matchesAll,
} from "../config/notify_matchers.ts";
import { formatLabelSet } from "./labels.ts";

/** A compiled route. */
export interface Route {
  /** Alertmanager's route key: the matchers of every route from the root, `/`-separated. */
  readonly key: string;
  /** The key plus each route's position among its siblings: unique in the tree. */
  readonly id: string;
  readonly receiver: string;
  /** Labels to group by; `"all"` for `'...'`. */
  readonly groupBy: readonly string[] | "all";
  readonly groupWait: number;
  readonly groupInterval: number;
  readonly repeatInterval: number;
  readonly matchers: readonly LabelMatcher[];
  readonly continue: boolean;
  readonly routes: readonly Route[];
}

/** Compiles a validated route tree (the root's receiver is required by the schema). */
export function compileRoute(config: RouteConfig, parent?: Route, index?: number): Route {
  const matchers = formatMatcherList(config.matchers);
  const key = parent ? `${parent.key}/${matchers}` : matchers;
  const id = parent ? `${parent.id}/${matchers}/${index}` : matchers;
  const groupBy = config.group_by === undefined
    ? parent?.groupBy ?? []
    : config.group_by.includes("...")
    ? "all"
    : [...config.group_by];
  const children: Route[] = [];
  const route: Route = {
    key,
    id,
    receiver: config.receiver ?? parent?.receiver ?? "",
    groupBy,
    groupWait: config.group_wait ?? parent?.groupWait ?? ROUTE_DEFAULTS.group_wait,
    groupInterval: config.group_interval ?? parent?.groupInterval ?? ROUTE_DEFAULTS.group_interval,
    repeatInterval: config.repeat_interval ?? parent?.repeatInterval ?? ROUTE_DEFAULTS.repeat_interval,
    matchers: config.matchers,
    continue: config.continue,
    routes: children,
  };
  config.routes.forEach((child, i) => children.push(compileRoute(child, route, i)));
  return route;
}

/** The routes `labels` end up at (depth first, left to right), or none when the root does not match. */
export function matchRoutes(route: Route, labels: LabelSet): Route[] {
  if (!matchesAll(route.matchers, labels)) return [];
  const all: Route[] = [];
  for (const child of route.routes) {
    const matched = matchRoutes(child, labels);
    all.push(...matched);
    if (matched.length > 0 && !child.continue) break;
  }
  if (all.length === 0) all.push(route);
  return all;
}

/** The receivers `labels` are routed to, in route order, each once. */
export function receiversOf(route: Route, labels: LabelSet): string[] {
  return [...new Set(matchRoutes(route, labels).map((matched) => matched.receiver))];
}

/** The group labels of `labels` at `route`: the `group_by` labels it has (all of them for `'...'`). */
export function groupLabels(route: Route, labels: LabelSet): LabelSet {
  if (route.groupBy === "all") return { ...labels };
  const out: Record<string, string> = {};
  for (const name of route.groupBy) {
    if (Object.hasOwn(labels, name)) out[name] = labels[name];
  }
  return out;
}

/** Alertmanager's group key: `<route key>:<group labels>`. */
export function groupKey(route: Route, labels: LabelSet): string {
  return `${route.key}:${formatLabelSet(labels)}`;
}

/** Every route of the tree, depth first. */
export function walkRoutes(route: Route): Route[] {
  return [route, ...route.routes.flatMap(walkRoutes)];
}
