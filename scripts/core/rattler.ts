/**
 * Lazy access to @conda-org/rattler (conda's own version and MatchSpec semantics, compiled to wasm).
 * Loading it costs ~150 ms, so only commands that compare versions pay for it.
 */
type Rattler = typeof import('@conda-org/rattler');

let loaded: Promise<Rattler> | undefined;

export function rattler(): Promise<Rattler> {
  loaded ??= import('@conda-org/rattler');
  return loaded;
}
