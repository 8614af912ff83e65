/**
 * The store's side of alert notifications (tables in `store/schema.ts`), on a connection of its own:
 *
 * - the alerts table is the outbox's source: each alert is committed with the batch that caused it
 *   (the writer's transaction), numbered by `seq`; the dispatcher takes them in seq order and keeps
 *   its cursor in `notify_state`;
 * - {@link NotifyStore.commit} stores, in one transaction, the notifications a step made (pending),
 *   the notification log it changed and the cursor it reached, so after a crash nothing is made twice
 *   and nothing is lost;
 * - the sender reads the pending notifications due (the oldest of each integration and group only,
 *   so a group is delivered in order) and records each attempt;
 * - silences and acknowledgements.
 *
 * @module
 */
import { readAllBound, runBound, StatementCache } from "./bound.ts";
import type { DuckDBConnection, DuckDBResultReader, DuckDBValue } from "@duckdb/node-api";
import type {
  AckRecord,
  NewNotification,
  NotificationRecord,
  NotificationStatus,
  NotifyLogEntry,
  PendingNotification,
  SilenceRecord,
} from "../model/notification.ts";
import type { StoredAlert } from "../model/query.ts";
import { stringifyReadable } from "./json_text.ts";
import { Mutex } from "./lock.ts";
import type { Store } from "./open.ts";
import { ALERT_JSON } from "./query.ts";

/** What one dispatch step changed, stored in one transaction. */
export interface NotifyCommit {
  /** The last alert seq the step took; unchanged when undefined. */
  cursor?: number;
  notifications?: readonly NewNotification[];
  logged?: readonly NotifyLogEntry[];
  unlogged?: readonly { integration: string; group_key: string }[];
}

/** Pending notifications: how many, and when the oldest was made. */
export interface QueueStats {
  depth: number;
  oldestCreatedAt: number | null;
}

function ts(ms: number): string {
  return `make_timestamptz(${Math.round(ms * 1000)}::BIGINT)`;
}

function tsParam(params: DuckDBValue[], ms: number | null): string {
  if (ms === null) return "NULL";
  params.push(BigInt(Math.round(ms)) * 1000n);
  return `make_timestamptz($${params.length}::BIGINT)`;
}

/** `AND id NOT IN (...)` for `skip` (its ids appended to `params`), or nothing. */
function skipClause(params: DuckDBValue[], skip: readonly string[]): string {
  if (skip.length === 0) return "";
  const placeholders = skip.map((id) => {
    params.push(id);
    return `$${params.length}`;
  });
  return `AND id NOT IN (${placeholders.join(", ")})`;
}

const NOTIFICATION_JSON = `json_object('seq', seq, 'id', id, 'receiver', receiver, 'integration', integration,
  'kind', kind, 'group_key', group_key, 'status', status, 'firing', firing, 'resolved', resolved,
  'created_at', epoch_ms(created_at), 'attempts', attempts, 'next_attempt_at', epoch_ms(next_attempt_at),
  'last_attempt_at', epoch_ms(last_attempt_at), 'last_error', last_error, 'finished_at', epoch_ms(finished_at))`;

/**
 * The alerts after a cursor, not those restored from a departed agent. `NOT IN` over the restored ids
 * rather than a correlated `NOT EXISTS`: DuckDB builds its hash table from `restored_alerts` (nearly
 * always empty) instead of collecting the page's ids first. Every hash-table block a statement
 * allocates leaves its ~200-byte handle in DuckDB's eviction queue until a purge, and this runs on
 * every batch with alerts.
 */
const ALERTS_AFTER_SQL = `SELECT coalesce(to_json(list(${ALERT_JSON} ORDER BY seq))::VARCHAR, '[]')
  FROM (SELECT * FROM alerts WHERE seq > $1::BIGINT AND id NOT IN (SELECT id FROM restored_alerts)
        ORDER BY seq LIMIT $2::BIGINT)`;

/** Moves the dispatcher's cursor (its row is created when the store opens). */
const MOVE_CURSOR_SQL = `UPDATE notify_state SET "value" = $1 WHERE key = 'cursor'`;

/** The one JSON value a `to_json(list(...))` query answers. */
function jsonCell<T>(reader: DuckDBResultReader): T {
  return JSON.parse(String(reader.getRows()[0][0])) as T;
}

/** The notification tables of an open, writable store. */
export class NotifyStore {
  readonly #store: Store;
  readonly #conn: DuckDBConnection;
  readonly #mutex = new Mutex();
  /** The statements of every dispatch step (taking alerts, moving the cursor), prepared once. */
  readonly #statements: StatementCache;

  private constructor(store: Store, conn: DuckDBConnection) {
    this.#store = store;
    this.#conn = conn;
    this.#statements = new StatementCache(conn);
  }

  /** Opens a connection of its own on `store`. */
  static async open(store: Store): Promise<NotifyStore> {
    const conn = await store.connect();
    // The cursor's row exists from the start, so moving it is one UPDATE (see `commit`).
    await conn.run(`INSERT INTO notify_state VALUES ('cursor', '0') ON CONFLICT (key) DO NOTHING`);
    return new NotifyStore(store, conn);
  }

  /** Releases the connection. */
  close(): void {
    if (this.#store.closed) return;
    this.#statements.destroy();
    this.#store.release(this.#conn);
  }

  async #json<T>(sql: string, params: DuckDBValue[] = []): Promise<T> {
    return jsonCell<T>(await readAllBound(this.#conn, sql, params));
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(fn);
  }

  async #transaction(fn: () => Promise<void>): Promise<void> {
    await this.#conn.run("BEGIN");
    try {
      await fn();
      await this.#conn.run("COMMIT");
    } catch (error) {
      await this.#conn.run("ROLLBACK").catch(() => undefined);
      throw error;
    }
  }

  /** The last alert seq the dispatcher took (0 before the first). */
  cursor(): Promise<number> {
    return this.#locked(async () => {
      const reader = await this.#conn.runAndReadAll(`SELECT "value" FROM notify_state WHERE key = 'cursor'`);
      return Number(reader.getRows()[0]?.[0] ?? 0);
    });
  }

  /** The newest transition of each fingerprint with `seq <= upTo`, ascending by seq. */
  latestAlertsUpTo(upTo: number): Promise<StoredAlert[]> {
    return this.#locked(() =>
      this.#json<StoredAlert[]>(
        `SELECT coalesce(to_json(list(${ALERT_JSON} ORDER BY seq))::VARCHAR, '[]')
         FROM (SELECT * FROM alerts WHERE seq <= $1::BIGINT
               QUALIFY row_number() OVER (PARTITION BY fingerprint ORDER BY seq DESC) = 1)`,
        [BigInt(upTo)],
      )
    );
  }

  /**
   * Alerts with `seq > after`, ascending, at most `limit`; not those restored from a departed agent
   * (`restored_alerts`: it delivered them, or they were lost with it).
   */
  alertsAfter(after: number, limit: number): Promise<StoredAlert[]> {
    return this.#locked(async () => {
      return jsonCell<StoredAlert[]>(
        await this.#statements.readAll(ALERTS_AFTER_SQL, [BigInt(after), BigInt(limit)]),
      );
    });
  }

  /** The whole notification log. */
  log(): Promise<NotifyLogEntry[]> {
    return this.#locked(() =>
      this.#json<NotifyLogEntry[]>(
        `SELECT coalesce(to_json(list(json_object('integration', integration, 'group_key', group_key,
           'firing', firing, 'resolved', resolved, 'notified_at', epoch_ms(notified_at))))::VARCHAR, '[]')
         FROM notify_log`,
      )
    );
  }

  /**
   * Stores what a dispatch step changed, in one transaction; a step that only moves the cursor (no
   * receiver wants the alerts taken) is one UPDATE, atomic on its own.
   */
  commit(change: NotifyCommit): Promise<void> {
    if (!change.notifications?.length && !change.logged?.length && !change.unlogged?.length) {
      const cursor = change.cursor;
      if (cursor === undefined) return Promise.resolve();
      return this.#locked(async () => {
        await this.#statements.run(MOVE_CURSOR_SQL, [String(cursor)]);
      });
    }
    return this.#locked(() =>
      this.#transaction(async () => {
        const conn = this.#conn;
        const notifications = change.notifications ?? [];
        if (notifications.length > 0) {
          const rows = await conn.runAndReadAll("SELECT coalesce(max(seq), 0) FROM notifications");
          let seq = Number(rows.getRows()[0][0]);
          for (const n of notifications) {
            const params: DuckDBValue[] = [
              BigInt(++seq),
              n.id,
              n.receiver,
              n.integration,
              n.kind,
              n.group_key,
              n.firing,
              n.resolved,
              stringifyReadable(n.data),
            ];
            const created = tsParam(params, n.created_at);
            await runBound(
              conn,
              `INSERT INTO notifications (seq, id, receiver, integration, kind, group_key, status, firing, resolved,
                 data, created_at, attempts, next_attempt_at)
               VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9::JSON, ${created}, 0, ${created})`,
              params,
            );
          }
        }
        for (const entry of change.logged ?? []) {
          const params: DuckDBValue[] = [
            entry.integration,
            entry.group_key,
            JSON.stringify(entry.firing),
            JSON.stringify(entry.resolved),
          ];
          const at = tsParam(params, entry.notified_at);
          await runBound(
            conn,
            `INSERT INTO notify_log VALUES ($1, $2, $3::JSON, $4::JSON, ${at})
             ON CONFLICT (integration, group_key) DO UPDATE SET firing = excluded.firing,
               resolved = excluded.resolved, notified_at = excluded.notified_at`,
            params,
          );
        }
        for (const entry of change.unlogged ?? []) {
          await runBound(conn, "DELETE FROM notify_log WHERE integration = $1 AND group_key = $2", [
            entry.integration,
            entry.group_key,
          ]);
        }
        if (change.cursor !== undefined) await this.#statements.run(MOVE_CURSOR_SQL, [String(change.cursor)]);
      })
    );
  }

  /**
   * Pending notifications due at `now`: of each integration and group only the oldest pending one
   * (a group is delivered in order), oldest first, at most `limit`; `skip` leaves out ids in flight.
   */
  due(now: number, limit: number, skip: readonly string[] = []): Promise<PendingNotification[]> {
    return this.#locked(() => {
      const params: DuckDBValue[] = [];
      const at = tsParam(params, now);
      params.push(BigInt(limit));
      const limitParam = `$${params.length}`;
      const skipSql = skipClause(params, skip);
      return this.#json<PendingNotification[]>(
        `SELECT coalesce(to_json(list(json_object('seq', seq, 'id', id, 'receiver', receiver, 'integration', integration,
           'kind', kind, 'group_key', group_key, 'firing', firing, 'resolved', resolved,
           'created_at', epoch_ms(created_at), 'attempts', attempts, 'data', data) ORDER BY seq))::VARCHAR, '[]')
         FROM (SELECT * FROM (SELECT * FROM notifications WHERE status = 'pending'
                 QUALIFY row_number() OVER (PARTITION BY integration, group_key ORDER BY seq) = 1)
               WHERE next_attempt_at <= ${at} ${skipSql}
               ORDER BY seq LIMIT ${limitParam}::BIGINT)`,
        params,
      );
    });
  }

  /**
   * When the next attempt is due (epoch ms): the earliest of the groups' oldest pending
   * notifications (the others wait for them), `skip` (in flight) left out; null when none is.
   */
  nextDueAt(skip: readonly string[] = []): Promise<number | null> {
    return this.#locked(async () => {
      const params: DuckDBValue[] = [];
      const skipSql = skipClause(params, skip);
      const reader = await readAllBound(
        this.#conn,
        `SELECT epoch_ms(min(next_attempt_at)) FROM (SELECT id, next_attempt_at FROM notifications
         WHERE status = 'pending' QUALIFY row_number() OVER (PARTITION BY integration, group_key ORDER BY seq) = 1)
         WHERE true ${skipSql}`,
        params,
      );
      const value = reader.getRows()[0]?.[0];
      return value === null || value === undefined ? null : Number(value);
    });
  }

  /** Records an attempt: delivered, failed for good, or to retry at `retryAt`. */
  attempted(
    id: string,
    outcome: { status: NotificationStatus; at: number; error?: string; retryAt?: number },
  ): Promise<void> {
    return this.#locked(async () => {
      const params: DuckDBValue[] = [id, outcome.status, outcome.error ?? null];
      const at = tsParam(params, outcome.at);
      const next = tsParam(params, outcome.status === "pending" ? outcome.retryAt ?? outcome.at : null);
      const finished = outcome.status === "pending" ? "NULL" : at;
      await runBound(
        this.#conn,
        `UPDATE notifications SET status = $2, attempts = attempts + 1, last_attempt_at = ${at},
           last_error = coalesce($3, last_error), next_attempt_at = ${next}, finished_at = ${finished}
         WHERE id = $1 AND status = 'pending'`,
        params,
      );
    });
  }

  /** Gives up every pending notification of `integration` (removed from the configuration). */
  abandon(integration: string, at: number, reason: string): Promise<number> {
    return this.#locked(async () => {
      const params: DuckDBValue[] = [integration, reason];
      const when = tsParam(params, at);
      const reader = await readAllBound(
        this.#conn,
        `UPDATE notifications SET status = 'failed', last_error = $2, finished_at = ${when}, next_attempt_at = NULL
         WHERE status = 'pending' AND integration = $1 RETURNING id`,
        params,
      );
      return reader.getRows().length;
    });
  }

  /** The integrations that have pending notifications. */
  pendingIntegrations(): Promise<string[]> {
    return this.#locked(async () => {
      const reader = await this.#conn.runAndReadAll(
        "SELECT DISTINCT integration FROM notifications WHERE status = 'pending' ORDER BY 1",
      );
      return reader.getRows().map((row) => String(row[0]));
    });
  }

  /** How many notifications are pending and since when. */
  queueStats(): Promise<QueueStats> {
    return this.#locked(async () => {
      const reader = await this.#conn.runAndReadAll(
        "SELECT count(*)::INTEGER, epoch_ms(min(created_at)) FROM notifications WHERE status = 'pending'",
      );
      const [depth, oldest] = reader.getRows()[0];
      return { depth: Number(depth), oldestCreatedAt: oldest === null ? null : Number(oldest) };
    });
  }

  /** Recent notifications, newest first. */
  recent(
    q: { limit: number; status?: NotificationStatus; receiver?: string },
  ): Promise<NotificationRecord[]> {
    return this.#locked(() => {
      const params: DuckDBValue[] = [];
      const where: string[] = [];
      if (q.status !== undefined) {
        params.push(q.status);
        where.push(`status = $${params.length}`);
      }
      if (q.receiver !== undefined) {
        params.push(q.receiver);
        where.push(`receiver = $${params.length}`);
      }
      params.push(BigInt(q.limit));
      return this.#json<NotificationRecord[]>(
        `SELECT coalesce(to_json(list(${NOTIFICATION_JSON} ORDER BY seq DESC))::VARCHAR, '[]')
         FROM (SELECT * FROM notifications ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
               ORDER BY seq DESC LIMIT $${params.length}::BIGINT)`,
        params,
      );
    });
  }

  /** The data of one notification, or undefined. */
  data(id: string): Promise<unknown> {
    return this.#locked(async () => {
      const reader = await readAllBound(this.#conn, "SELECT data::VARCHAR FROM notifications WHERE id = $1", [
        id,
      ]);
      const value = reader.getRows()[0]?.[0];
      return value === undefined || value === null ? undefined : JSON.parse(String(value));
    });
  }

  /** Deletes delivered and failed notifications finished before `before`, and silences expired before it. */
  prune(before: number): Promise<number> {
    return this.#locked(async () => {
      const reader = await this.#conn.runAndReadAll(
        `DELETE FROM notifications WHERE status <> 'pending' AND finished_at < ${ts(before)} RETURNING id`,
      );
      await this.#conn.run(`DELETE FROM silences WHERE ends_at < ${ts(before)}`);
      return reader.getRows().length;
    });
  }

  /** Every stored silence. */
  silences(): Promise<SilenceRecord[]> {
    return this.#locked(() =>
      this.#json<SilenceRecord[]>(
        `SELECT coalesce(to_json(list(json_object('id', id, 'matchers', matchers, 'starts_at', epoch_ms(starts_at),
           'ends_at', epoch_ms(ends_at), 'created_by', created_by, 'comment', comment,
           'updated_at', epoch_ms(updated_at)) ORDER BY starts_at, id))::VARCHAR, '[]') FROM silences`,
      )
    );
  }

  /** Inserts or replaces silences (by id), in one transaction. */
  saveSilences(silences: readonly SilenceRecord[]): Promise<void> {
    return this.#locked(() =>
      this.#transaction(async () => {
        for (const silence of silences) {
          const params: DuckDBValue[] = [
            silence.id,
            stringifyReadable(silence.matchers),
            silence.created_by,
            silence.comment,
          ];
          const starts = tsParam(params, silence.starts_at);
          const ends = tsParam(params, silence.ends_at);
          const updated = tsParam(params, silence.updated_at);
          await runBound(
            this.#conn,
            `INSERT INTO silences VALUES ($1, $2::JSON, ${starts}, ${ends}, $3, $4, ${updated})
             ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at,
               ends_at = excluded.ends_at, created_by = excluded.created_by, comment = excluded.comment,
               updated_at = excluded.updated_at`,
            params,
          );
        }
      })
    );
  }

  /** Every acknowledgement. */
  acks(): Promise<AckRecord[]> {
    return this.#locked(() =>
      this.#json<AckRecord[]>(
        `SELECT coalesce(to_json(list(json_object('fingerprint', fingerprint, 'starts_at', epoch_ms(starts_at),
           'acked_by', acked_by, 'comment', comment, 'acked_at', epoch_ms(acked_at))))::VARCHAR, '[]') FROM alert_acks`,
      )
    );
  }

  /** Stores an acknowledgement (replacing the fingerprint's previous one). */
  saveAck(ack: AckRecord): Promise<void> {
    return this.#locked(async () => {
      const params: DuckDBValue[] = [ack.fingerprint, ack.acked_by, ack.comment];
      const starts = tsParam(params, ack.starts_at);
      const at = tsParam(params, ack.acked_at);
      await runBound(
        this.#conn,
        `INSERT INTO alert_acks VALUES ($1, ${starts}, $2, $3, ${at})
         ON CONFLICT (fingerprint) DO UPDATE SET starts_at = excluded.starts_at, acked_by = excluded.acked_by,
           comment = excluded.comment, acked_at = excluded.acked_at`,
        params,
      );
    });
  }
}
