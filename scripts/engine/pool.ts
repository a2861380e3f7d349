/** Bounded concurrency: run async work over items with at most `jobs` in flight. */

/**
 * Map `items` through `fn` with at most `jobs` calls running at once; results keep the input order.
 * `fn` should return failures as values: a throw rejects the whole pool (after the in-flight calls settle).
 */
export async function runPool<T, R>(
  items: readonly T[],
  jobs: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const width = Math.max(1, Math.min(Math.floor(jobs) || 1, items.length || 1));
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: { error: unknown } | undefined;
  async function worker(): Promise<void> {
    // Workers pull the next index instead of taking fixed slices, so one slow env never idles the others.
    while (!firstError && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (error) {
        firstError ??= { error };
      }
    }
  }
  await Promise.all(Array.from({ length: width }, worker));
  if (firstError) throw firstError.error;
  return results;
}
