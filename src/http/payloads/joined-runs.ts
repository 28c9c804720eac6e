// A document of many small parts (the gzip full registry is thousands of DEFLATE pieces of 1-2 KB, the gzip delta
// about a hundred) is written as runs of about RUN_BYTES, each its parts joined once and kept across documents while
// its parts are the same: a change re-joins the run its parts are in, not the whole document. Joining the whole of
// every new document would make the gzip delta one fresh 120 KB buffer per change (at 10 changes a second, 1.2 MB/s
// of the buffers whose growth starts V8's full collections); writing it unjoined would hand the socket a hundred or
// thousands of buffers per read.
import { keptConcat } from '../../codecs/kept-bytes';

/** Bytes a run of small parts is joined up to; a part this large or larger is written as it is. */
export const RUN_BYTES = 16 * 1024;

/** A document this small or smaller is one buffer: one copy per document, one buffer per read. */
export const ONE_BUFFER_MAX_BYTES = 64 * 1024;

/** Sizes of a {@link RunJoiner}; defaults: the constants above. 0 for both: parts written as they are. */
export interface JoiningOptions {
  readonly runBytes?: number;
  readonly oneBufferMaxBytes?: number;
}

interface Run {
  readonly parts: readonly Buffer[];
  readonly joined: Buffer;
}

/**
 * Lays out one document's successive versions (one per document key): the first and last parts (head and tail, which
 * change with every version) as they are, the parts between them in runs. A run is reused while the same parts (the
 * same buffers) come in the same order; a new run ends before a part that starts a reusable one, so that a change
 * leaves the runs around it as they were.
 */
export class RunJoiner {
  // The current version's joined runs, by their first part.
  private runs = new Map<Buffer, Run>();
  private held = 0;
  private readonly runBytes: number;
  private readonly oneBufferMaxBytes: number;

  constructor(options: JoiningOptions = {}) {
    this.runBytes = options.runBytes ?? RUN_BYTES;
    this.oneBufferMaxBytes = options.oneBufferMaxBytes ?? ONE_BUFFER_MAX_BYTES;
  }

  /** Bytes of the latest version's joined copies (its one buffer, or its runs). */
  get bytes(): number {
    return this.held;
  }

  /** The body for a document of `parts` (`bytes` in all): one buffer when small, else its runs. */
  body(parts: readonly Buffer[], bytes: number): Buffer | readonly Buffer[] {
    if (bytes <= this.oneBufferMaxBytes) {
      this.forget();
      if (parts.length === 1) return parts[0];
      this.held = bytes;
      return keptConcat(parts, bytes);
    }
    return this.join(parts);
  }

  /** The parts in runs, reusing the previous version's runs that are still whole. */
  join(parts: readonly Buffer[]): readonly Buffer[] {
    const end = parts.length - 1;
    if (end < 2 || this.runBytes === 0) {
      this.forget();
      return parts;
    }
    const next = new Map<Buffer, Run>();
    const out: Buffer[] = [parts[0]];
    let held = 0;
    let i = 1;
    while (i < end) {
      let run = this.reusable(parts, i, end);
      if (run === undefined) {
        let j = i + 1;
        let size = parts[i].length;
        while (j < end && size + parts[j].length <= this.runBytes && this.reusable(parts, j, end) === undefined) size += parts[j++].length;
        if (j === i + 1) {
          // One part alone: written as it is.
          out.push(parts[i]);
          i = j;
          continue;
        }
        const members = parts.slice(i, j);
        run = { parts: members, joined: keptConcat(members, size) };
      }
      next.set(parts[i], run);
      held += run.joined.length;
      out.push(run.joined);
      i += run.parts.length;
    }
    out.push(parts[end]);
    this.runs = next;
    this.held = held;
    return out;
  }

  /** Drops the kept runs. */
  forget(): void {
    this.runs = new Map();
    this.held = 0;
  }

  // The previous version's run starting with parts[at], when the same parts follow it before `end`.
  private reusable(parts: readonly Buffer[], at: number, end: number): Run | undefined {
    const run = this.runs.get(parts[at]);
    if (run === undefined || at + run.parts.length > end) return undefined;
    for (let k = 1; k < run.parts.length; k++) if (parts[at + k] !== run.parts[k]) return undefined;
    return run;
  }
}
