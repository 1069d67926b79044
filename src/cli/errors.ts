/** Errors a command throws to end with a given exit code and a message, never a stack trace. */
import { ExitCode } from "./exit-codes.js";

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number = ExitCode.Usage, readonly hint?: string) {
    super(message);
    this.name = "CliError";
  }
}

/** The command line was wrong (exit 2). */
export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.Usage, hint);
}
