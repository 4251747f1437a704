/**
 * The one error type. Every failure a user can cause carries a code; the CLI
 * maps codes to exit statuses (all input errors exit 2). Messages come from
 * src/messages.ts, never from string literals at the throw site.
 */
export const ErrorCode = {
  YAML_SYNTAX: 'YAML_SYNTAX',
  SCHEMA: 'SCHEMA',
  UNKNOWN_EXPERIMENT: 'UNKNOWN_EXPERIMENT',
  UNKNOWN_SIMULATION: 'UNKNOWN_SIMULATION',
  EMPTY_GRID: 'EMPTY_GRID',
  BAD_GRID: 'BAD_GRID',
  BAD_CHART: 'BAD_CHART',
  BAD_OPTION: 'BAD_OPTION',
  BAD_SET: 'BAD_SET',
  BACKEND: 'BACKEND',
  OUTPUT: 'OUTPUT',
  CHECKPOINT: 'CHECKPOINT',
  MERGE: 'MERGE',
  TOO_LONG: 'TOO_LONG',
  /** A model file (settings.methods) that is missing, not ONNX, or breaks the method contract. */
  BAD_MODEL: 'BAD_MODEL',
  /** Text with TeX that does not typeset (an unclosed $, an unknown command). */
  BAD_TEX: 'BAD_TEX',
  /** A simulation module (`simulation: ./file.ts`) that is missing, fails to import, or is not a simulation. */
  PLUGIN: 'PLUGIN',
  /** `compare` of runs that cannot be compared (not found, shards, different experiments). */
  COMPARE: 'COMPARE',
  /** Another process runs this run now: exit 75 (EX_TEMPFAIL), try again later or --wait. */
  LOCKED: 'LOCKED',
} as const;
export type ErrorCode = keyof typeof ErrorCode;

/** Where in a file an error points (1-based line and column). */
export interface SourceLocation {
  file: string;
  line?: number | undefined;
  col?: number | undefined;
}

export class AttnlabError extends Error {
  readonly code: ErrorCode;
  readonly location: SourceLocation | undefined;

  constructor(code: ErrorCode, message: string, location?: SourceLocation) {
    super(message);
    this.name = 'AttnlabError';
    this.code = code;
    this.location = location;
  }

  /** `file:line:col: message [CODE]`, the form editors turn into links. */
  format(): string {
    const loc = this.location;
    const where = loc ? `${loc.file}${loc.line ? `:${loc.line}:${loc.col ?? 1}` : ''}: ` : '';
    return `error: ${where}${this.message} [${this.code}]`;
  }
}

export function isAttnlabError(e: unknown): e is AttnlabError {
  return e instanceof AttnlabError;
}
