/** The agf CLI's exit codes (docs/cli.md): a pipeline branches on these. */
export const EXIT = { proceed: 0, blocked: 1, undecided: 2, usage: 3, unreachable: 4 } as const;

export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
