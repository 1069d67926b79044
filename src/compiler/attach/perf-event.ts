/**
 * profile/HZ and interval/MS: programs run by a perf_event software clock
 * (PERF_COUNT_SW_CPU_CLOCK), like bpftrace's profile:hz:N and interval:ms:N. A profile samples
 * every online CPU HZ times a second (what the CPU runs: kstack, ustack, pid, comm); an
 * interval fires on one CPU every MS milliseconds (a timer). Their context is
 * struct bpf_perf_event_data; they read builtins only.
 */
import { MAX_SAMPLE_RATE_FILE, maxSampleRate } from "../../runtime/perf-event.js";
import { notePseudoFile } from "../inputs.js";
import type { AttachContext, AttachKind } from "./kind.js";

export interface PerfEventPoint {
  kind: "profile" | "interval";
  /** Samples per second (profile) or milliseconds between runs (interval). */
  value: number;
}

/** An interval of more than an hour is a mistake (perf's period is in nanoseconds of a u64; an hour is far from its end). */
const MAX_INTERVAL_MS = 3_600_000;

function number(kind: PerfEventPoint["kind"], target: string, ctx: AttachContext): number | undefined {
  const unit = kind === "profile" ? "HZ" : "MS";
  const example = kind === "profile" ? "profile/99 (99 samples a second on every CPU)" : "interval/1000 (once a second)";
  if (!/^[0-9]{1,10}$/.test(target)) {
    return ctx.fail("invalid-attach", `${kind}/${unit} takes a whole number${kind === "profile" ? " of samples per second" : " of milliseconds"}, not '${target}'`, `write ${example}`);
  }
  return Number(target);
}

/** perf_event software clocks are not listed: a glob matches nothing, and says why. */
function noCandidates(kind: PerfEventPoint["kind"]) {
  return (ctx: AttachContext) => ctx.fail("invalid-attach", `${kind} points are numbers, not names to match with a pattern`,
    kind === "profile" ? "write profile/99" : "write interval/1000");
}

const common = {
  targetNoun: "rate",
  section: () => "perf_event",
  arguments: () => ({ kind: "none" as const }),
  returnValue: () => undefined,
  // bpf_perf_event_data holds bpf_user_pt_regs_t, which is struct pt_regs on x86 and arm64.
  context: () => ({ type: "struct bpf_perf_event_data", ptRegs: true, headers: ["linux/bpf_perf_event.h"] }),
};

export const profile: AttachKind<PerfEventPoint> = {
  ...common,
  prefixes: ["profile"],
  candidates: noCandidates("profile"),
  resolve(target, ctx) {
    const hz = number("profile", target, ctx);
    if (hz === undefined) return undefined;
    notePseudoFile(MAX_SAMPLE_RATE_FILE); // a sysctl, lowered by the kernel itself under load
    const max = maxSampleRate();
    if (hz < 1 || (max !== undefined && hz > max)) {
      return ctx.fail("invalid-attach", `profile/${hz}: a profile samples from 1 to ${max ?? "kernel.perf_event_max_sample_rate"} times a second${max !== undefined ? " on this kernel (kernel.perf_event_max_sample_rate)" : ""}`,
        `use a lower rate such as profile/99${max !== undefined ? `, or raise the limit: sysctl kernel.perf_event_max_sample_rate=${hz}` : ""}`);
    }
    return { kind: "profile", value: hz };
  },
  title: (p) => `profile ${p.value} Hz on every CPU`,
  owner: (p) => `profile/${p.value}`,
  programName: (p) => `profile_${p.value}hz`,
  runtime: (p) => ({ kind: "perf_event", frequency: p.value, cpus: "all" }),
};

export const interval: AttachKind<PerfEventPoint> = {
  ...common,
  prefixes: ["interval"],
  candidates: noCandidates("interval"),
  resolve(target, ctx) {
    const ms = number("interval", target, ctx);
    if (ms === undefined) return undefined;
    if (ms < 1 || ms > MAX_INTERVAL_MS) {
      return ctx.fail("invalid-attach", `interval/${ms}: an interval is from 1 to ${MAX_INTERVAL_MS} milliseconds (an hour)`, "write interval/1000 for once a second");
    }
    return { kind: "interval", value: ms };
  },
  title: (p) => `interval every ${p.value} ms on one CPU`,
  owner: (p) => `interval/${p.value}`,
  programName: (p) => `interval_${p.value}ms`,
  runtime: (p) => ({ kind: "perf_event", periodNs: p.value * 1_000_000, cpus: "one" }),
};
