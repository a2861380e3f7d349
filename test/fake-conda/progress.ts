/** The progress lines conda prints on stdout while it fetches, solves and links, per version family. */
import { PLATFORM, type Channel } from './channels.js';
import { atLeast, type Ctx } from './context.js';
import type { SolveKind } from './solve.js';

export class Progress {
  constructor(
    private readonly ctx: Ctx,
    private readonly silent: boolean,
  ) {}

  private say(t: string): void {
    if (!this.silent) this.ctx.out(t);
  }
  private v(x: string): boolean {
    return atLeast(this.ctx, x);
  }

  collecting(kind: SolveKind, channels: Channel[]): void {
    if (this.v('23.10'))
      this.say(`Channels:\n${channels.map((c) => ` - ${c.name}`).join('\n')}\nPlatform: ${PLATFORM}\n`);
    if (this.v('4.7') && kind !== 'env-create') this.say('Collecting package metadata (current_repodata.json): ');
    else if (this.v('4.6')) this.say('Collecting package metadata (repodata.json): ');
    else if (!this.v('4.4')) this.say('Fetching package metadata ');
  }

  collected(ok: boolean): void {
    if (this.v('4.6')) this.say(ok ? 'done\n' : 'failed\n');
    else if (!this.v('4.4')) this.say(ok ? '...........\n' : '\n');
  }

  solving(): void {
    this.say(this.v('4.4') ? 'Solving environment: ' : 'Solving package specifications: ');
  }

  /** `conflicts`: the classic solver (4.7 .. 23.9) says so before failing on an unsatisfiable request. */
  solved(ok: boolean, conflicts = false): void {
    if (!this.v('4.4')) {
      this.say('.\n');
      return;
    }
    const working = this.v('4.6') ? '' : '...working... ';
    if (ok) this.say(`${working}done\n`);
    else if (conflicts && this.v('4.7') && !this.v('23.10')) {
      this.say(
        '\nFound conflicts! Looking for incompatible packages.\n' +
          'This can take several minutes.  Press CTRL-C to abort.\nfailed\n',
      );
    } else this.say(`${working}failed\n`);
  }

  /** Preparing / Verifying / Executing transaction; `executed` false when linking failed. */
  transaction(executed: boolean): void {
    if (!this.v('4.4')) return;
    const w = this.v('4.6') ? '' : '...working... ';
    this.say(
      `Preparing transaction: ${w}done\nVerifying transaction: ${w}done\n` +
        `Executing transaction: ${w}${executed ? 'done' : 'failed'}\n`,
    );
  }

  /** The "To activate this environment" banner; `target` is the env name, or its path for -p. */
  banner(target: string): void {
    if (this.v('4.6')) {
      this.say(
        `#\n# To activate this environment, use\n#\n#     $ conda activate ${target}\n#\n` +
          '# To deactivate an active environment, use\n#\n#     $ conda deactivate\n\n',
      );
    } else {
      this.say(
        `#\n# To activate this environment, use:\n# > source activate ${target}\n#\n` +
          '# To deactivate an active environment, use:\n# > source deactivate\n#\n\n',
      );
    }
  }

  line(t: string): void {
    this.say(t);
  }
}
