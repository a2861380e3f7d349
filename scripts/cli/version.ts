/** The tool's version, read from package.json (one source of truth; bundled as a JSON module). */
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
