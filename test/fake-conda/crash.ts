/**
 * A Python exception conda does not catch: conda prints its "unexpected error" report with the traceback and
 * exits 1. For real conda bugs the fake reproduces on purpose (e.g. `variables:` on conda 4.3–4.5).
 */
import { CondaError } from './errors.js';

export class PythonCrash extends CondaError {
  constructor(
    readonly pythonClass: string,
    message: string,
    /** the innermost traceback frame, `File "…", line N, in fn` */
    private readonly frame: string,
  ) {
    super(pythonClass, message);
  }

  /** What conda prints for an uncaught exception (conda/exceptions.py, print_unexpected_error_message). */
  override get line(): string {
    return (
      '# >>>>>>>>>>>>>>>>>>>>>> ERROR REPORT <<<<<<<<<<<<<<<<<<<<<<\n\n' +
      '    Traceback (most recent call last):\n' +
      `      ${this.frame}\n` +
      `    ${this.pythonClass}: ${this.message}\n\n` +
      'An unexpected error has occurred.\n' +
      'Please consider posting the following information to the\n' +
      'conda GitHub issue tracker at:\n\n' +
      '    https://github.com/conda/conda/issues'
    );
  }
}
