/** What use cases report through: human lines, warnings, progress, and the machine result (see cli/output.ts). */

/** Where a command writes. In --json mode human text goes to stderr so stdout stays machine-readable. */
export interface Output {
  json: boolean;
  /** human text (stdout, or stderr under --json) */
  info(message: string): void;
  /** warnings and progress: always stderr */
  warn(message: string): void;
  progress(message: string): void;
  /**
   * a long step starts (a conda call, a test script): its start line now, then a heartbeat with the elapsed time
   * until the returned function is called (a live line on a terminal, a plain line every N seconds otherwise)
   */
  activity?(message: string): () => void;
  /** the machine result (stdout, --json only) */
  result(value: unknown): void;
  /**
   * a GitHub Actions workflow command this tool composed (an annotation), written as is where `info` goes; every
   * other line is echoed so that the runner never reads a command in it (core/untrusted-output.ts echoSafe)
   */
  command?(line: string): void;
}
