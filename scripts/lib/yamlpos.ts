/**
 * YAML with positions. js-yaml's constructor gives values but not lines; its event stream has offsets.
 * We build a small tree from the events so every key and list item knows its line.
 */
import { parseEvents, constructFromEvents, getScalarValue, EVENT_ID, type Event } from 'js-yaml';

export type PosNode =
  | { kind: 'scalar'; text: string; quoted: boolean; offset: number }
  | { kind: 'seq'; items: PosNode[]; offset: number }
  | { kind: 'map'; pairs: Array<{ key: string; keyOffset: number; value: PosNode }>; offset: number }
  | { kind: 'alias'; offset: number };

export class YamlSyntaxError extends Error {
  constructor(message: string, readonly line: number) { super(message); }
}

/** 1-based line of each offset, by binary search over line starts. */
export function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid; else hi = mid - 1;
    }
    return lo + 1;
  };
}

function buildTree(source: string, events: Event[]): PosNode | undefined {
  let i = 0;
  const node = (): PosNode => {
    const e = events[i++]!;
    switch (e.type) {
      case EVENT_ID.SCALAR:
        return { kind: 'scalar', text: getScalarValue(source, e), quoted: e.style !== 1, offset: e.valueStart };
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
        while (events[i]!.type !== EVENT_ID.POP) {
          const k = node();
          const value = node();
          pairs.push({ key: k.kind === 'scalar' ? k.text : '', keyOffset: k.offset, value });
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

/** Parse one YAML document: its plain value and a position tree. Throws YamlSyntaxError with a 1-based line. */
export function parseYamlWithPositions(source: string, filename: string): { value: unknown; tree: PosNode | undefined } {
  try {
    const events = parseEvents(source, { filename });
    const docs = constructFromEvents(events, { source, filename });
    if (docs.length > 1) throw new YamlSyntaxError('more than one YAML document in the file', 1);
    return { value: docs[0], tree: buildTree(source, events) };
  } catch (e) {
    if (e instanceof YamlSyntaxError) throw e;
    const ex = e as { reason?: string; mark?: { line: number }; message: string };
    throw new YamlSyntaxError(ex.reason ?? ex.message, (ex.mark?.line ?? 0) + 1);
  }
}
