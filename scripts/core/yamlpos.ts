/**
 * YAML with positions. js-yaml's constructor gives values but not lines; its event stream has offsets.
 * We build a small tree from the events so every key and list item knows its line.
 * Constructing plain values costs time and memory on every spec and nothing reads them for plain files,
 * so the constructor only runs (for its checks) when a document uses tags or anchors, and `value` is lazy.
 */
import { parseEvents, constructFromEvents, getScalarValue, EVENT_ID, type Event } from 'js-yaml';

export type PosNode =
  /** `end`: offset just past the scalar's text (a plain scalar continued on the next line ends there) */
  | { kind: 'scalar'; text: string; quoted: boolean; offset: number; end: number }
  | { kind: 'seq'; items: PosNode[]; offset: number }
  | { kind: 'map'; pairs: Array<{ key: string; keyOffset: number; value: PosNode }>; offset: number }
  | { kind: 'alias'; offset: number };

export class YamlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** 1-based line of each offset, by binary search over line starts. */
export function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0,
      hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

function buildTree(source: string, events: Event[], lineOf: (offset: number) => number): PosNode | undefined {
  let i = 0;
  const node = (): PosNode => {
    const e = events[i++]!;
    switch (e.type) {
      case EVENT_ID.SCALAR:
        return {
          kind: 'scalar',
          text: getScalarValue(source, e),
          quoted: e.style !== 1,
          offset: e.valueStart,
          end: e.valueEnd,
        };
      case EVENT_ID.ALIAS:
        return { kind: 'alias', offset: e.anchorStart };
      case EVENT_ID.SEQUENCE: {
        const items: PosNode[] = [];
        while (events[i]!.type !== EVENT_ID.POP) items.push(node());
        i++;
        return { kind: 'seq', items, offset: e.start };
      }
      case EVENT_ID.MAPPING: {
        const pairs: Array<{ key: string; keyOffset: number; value: PosNode }> = [];
        const seen = new Map<string, number>();
        while (events[i]!.type !== EVENT_ID.POP) {
          const k = node();
          const value = node();
          const key = k.kind === 'scalar' ? k.text : '';
          // the check js-yaml's constructor makes, done here because the constructor usually does not run
          const first = k.kind === 'scalar' ? seen.get(key) : undefined;
          if (first !== undefined)
            throw new YamlSyntaxError(
              `duplicated key '${key}' (first at line ${lineOf(first)}): keep one`,
              lineOf(k.offset),
            );
          if (k.kind === 'scalar') seen.set(key, k.offset);
          pairs.push({ key, keyOffset: k.offset, value });
        }
        i++;
        return { kind: 'map', pairs, offset: e.start };
      }
      default:
        throw new Error(`unexpected YAML event ${e.type}`);
    }
  };
  while (i < events.length && events[i]!.type !== EVENT_ID.DOCUMENT) i++;
  i++;
  if (i >= events.length || events[i]!.type === EVENT_ID.POP) return undefined;
  return node();
}

/** Does the stream use tags (`!!binary`) or anchors/aliases, whose checks only the constructor makes? */
function needsConstructor(events: Event[]): boolean {
  for (const e of events) {
    if (e.type === EVENT_ID.ALIAS) return true;
    if (
      (e.type === EVENT_ID.SCALAR || e.type === EVENT_ID.SEQUENCE || e.type === EVENT_ID.MAPPING) &&
      (e.tagStart >= 0 || e.anchorStart >= 0)
    )
      return true;
  }
  return false;
}

/**
 * Parse one YAML document: a position tree and (lazily) its plain value. Throws YamlSyntaxError with a
 * 1-based line. `lineOf` may be passed when the caller already has a line index of `source`.
 */
export function parseYamlWithPositions(
  source: string,
  filename: string,
  lineOf: (offset: number) => number = lineIndex(source),
): { readonly value: unknown; tree: PosNode | undefined } {
  try {
    const events = parseEvents(source, { filename });
    let documents = 0;
    for (const e of events) if (e.type === EVENT_ID.DOCUMENT) documents++;
    if (documents > 1) throw new YamlSyntaxError('more than one YAML document in the file', 1);
    const construct = () => constructFromEvents(events, { source, filename })[0];
    const value = needsConstructor(events) ? construct() : undefined;
    const tree = buildTree(source, events, lineOf);
    return {
      tree,
      get value() {
        return value ?? construct();
      },
    };
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw e;
    const ex = e as { reason?: string; mark?: { line: number }; message: string };
    throw new YamlSyntaxError(ex.reason ?? ex.message, (ex.mark?.line ?? 0) + 1);
  }
}
