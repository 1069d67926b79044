/** Exit codes, documented in docs/cli.md. */
export const ExitCode = {
  Ok: 0,
  /** A spec has errors (diagnostics were printed). */
  SpecError: 1,
  /** The command line was wrong. */
  Usage: 2,
  /** build --check: generated files differ from what would be built now. */
  Stale: 3,
  /** Loading or attaching in the kernel failed. */
  Kernel: 4,
  /** probegen itself failed: a bug. */
  Internal: 70,
} as const;
