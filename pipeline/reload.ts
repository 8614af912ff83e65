/**
 * Files that are reloaded on change without a restart (inventory, rules): the current value is
 * swapped atomically between batches; a bad new version is logged and the previous one kept.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";

/** A value loaded from a file that follows the file's changes. */
export class ReloadableFile<T> {
  #value: T;
  #watcher: Deno.FsWatcher | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #version = 0;

  private constructor(
    readonly path: string,
    initial: T,
    private readonly parse: (text: string, file: string) => T,
    private readonly log: Logger,
    private readonly onChange?: (value: T) => void,
    private readonly beforeReload?: () => Promise<void>,
  ) {
    this.#value = initial;
  }

  /**
   * Loads `path` (throws with the file, key path and expectation when invalid) and watches it.
   * `beforeReload` runs before each reload's parse (to refresh what `parse` checks against).
   */
  static async open<T>(
    path: string,
    parse: (text: string, file: string) => T,
    log: Logger,
    onChange?: (value: T) => void,
    beforeReload?: () => Promise<void>,
  ): Promise<ReloadableFile<T>> {
    const initial = parse(await Deno.readTextFile(path), path);
    const file = new ReloadableFile(path, initial, parse, log, onChange, beforeReload);
    file.#watch();
    return file;
  }

  /** The current value. */
  get value(): T {
    return this.#value;
  }

  /** How many times the file was reloaded successfully. */
  get version(): number {
    return this.#version;
  }

  #watch(): void {
    // Watch the directory: editors replace files by rename, which ends a watch on the file itself.
    const slash = this.path.lastIndexOf("/");
    const directory = slash > 0 ? this.path.slice(0, slash) : ".";
    const name = this.path.slice(slash + 1);
    this.#watcher = Deno.watchFs(directory, { recursive: false });
    (async () => {
      for await (const event of this.#watcher!) {
        if (event.paths.some((changed) => changed.slice(changed.lastIndexOf("/") + 1) === name)) {
          this.#scheduleReload();
        }
      }
    })().catch((error) => this.log.warn("stopped watching file", { file: this.path, error }));
  }

  #scheduleReload(): void {
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.reload(), 100);
  }

  /** Reads and parses the file again; keeps the previous value when the new one is invalid. */
  async reload(): Promise<boolean> {
    try {
      await this.beforeReload?.();
      const next = this.parse(await Deno.readTextFile(this.path), this.path);
      this.#value = next;
      this.#version++;
      this.onChange?.(next);
      this.log.info("reloaded", { file: this.path, version: this.#version });
      return true;
    } catch (error) {
      this.log.error("reload failed; keeping the previous version", { file: this.path, error });
      return false;
    }
  }

  /** Stops watching. */
  close(): void {
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    this.#watcher?.close();
  }
}
