/**
 * A map keyed by a series (tenant, host, metric) that looks up without joining the three names into
 * one string per event (a joined string is a fresh rope to flatten and hash every time; the names
 * themselves hash once each).
 *
 * @module
 */

/** Values by tenant, host and metric. */
export class SeriesMap<V> {
  #tenants = new Map<string, Map<string, Map<string, V>>>();
  #size = 0;

  /** Number of series. */
  get size(): number {
    return this.#size;
  }

  /** The value of a series, if any. */
  get(tenant: string, host: string, metric: string): V | undefined {
    return this.#tenants.get(tenant)?.get(host)?.get(metric);
  }

  /** Sets the value of a series. */
  set(tenant: string, host: string, metric: string, value: V): void {
    let hosts = this.#tenants.get(tenant);
    if (hosts === undefined) this.#tenants.set(tenant, hosts = new Map());
    let metrics = hosts.get(host);
    if (metrics === undefined) hosts.set(host, metrics = new Map());
    if (!metrics.has(metric)) this.#size++;
    metrics.set(metric, value);
  }

  /** Removes a series; returns whether it was there. */
  delete(tenant: string, host: string, metric: string): boolean {
    const hosts = this.#tenants.get(tenant);
    const metrics = hosts?.get(host);
    if (metrics === undefined || !metrics.delete(metric)) return false;
    this.#size--;
    if (metrics.size === 0) {
      hosts!.delete(host);
      if (hosts!.size === 0) this.#tenants.delete(tenant);
    }
    return true;
  }

  /** Every value, in insertion order per tenant and host. */
  *values(): IterableIterator<V> {
    for (const hosts of this.#tenants.values()) {
      for (const metrics of hosts.values()) yield* metrics.values();
    }
  }

  /** Removes every series. */
  clear(): void {
    this.#tenants = new Map();
    this.#size = 0;
  }
}
