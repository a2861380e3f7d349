export function makeRunTmpdir(): string;
export function tempDirsLeftBehind(dir: string): string[];
export function tempDirsStep(left: string[]): string;
