// Pure tests of libbpf-output parsing, verifier-log trimming and explanations.
import { describe, expect, it } from "vitest";

import { explainVerifierMessage, parseLibbpfLog, trimVerifierLog } from "../../src/runtime/index.js";

// Captured from this kernel (6.18) loading fixtures/rejected.bpf.c through libbpf 1.1.
const LIBBPF_OUTPUT = `libbpf: prog 'count_without_check': BPF program load failed: Permission denied
libbpf: prog 'count_without_check': -- BEGIN PROG LOAD LOG --
arg#0 reference type('UNKNOWN ') size cannot be determined: -22
0: R1=ctx() R10=fp0
; int count_without_check(void *ctx) { @ rejected.bpf.c:14
0: (b7) r1 = 0                        ; R1=0
; __u32 zero = 0; @ rejected.bpf.c:15
1: (63) *(u32 *)(r10 -4) = r1         ; R1=0 R10=fp0 fp-8=0000????
2: (bf) r2 = r10                      ; R2=fp0 R10=fp0
;  @ rejected.bpf.c:0
3: (07) r2 += -4                      ; R2=fp-4
; __u64 *value = bpf_map_lookup_elem(&hits, &zero); @ rejected.bpf.c:16
4: (18) r1 = 0xffff88812c17b000       ; R1=map_ptr(map=hits,ks=4,vs=8)
6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=hits,ks=4,vs=8)
; *value += 1; @ rejected.bpf.c:17
7: (79) r1 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
-- END PROG LOAD LOG --
libbpf: prog 'count_without_check': failed to load: -13
libbpf: failed to load object 'rejected'
`;

describe("parseLibbpfLog", () => {
  it("finds the failed program and its verifier log", () => {
    const parsed = parseLibbpfLog(LIBBPF_OUTPUT);
    expect(parsed.programs).toHaveLength(1);
    const [p] = parsed.programs;
    expect(p.name).toBe("count_without_check");
    expect(p.failed).toBe(true);
    expect(p.log.startsWith("arg#0")).toBe(true);
    expect(p.log).toContain("processed 7 insns");
    expect(parsed.other).toContain("libbpf: failed to load object 'rejected'");
  });

  it("keeps a log cut off before its END marker", () => {
    const parsed = parseLibbpfLog("libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n0: (b7) r0 = 0\n");
    expect(parsed.programs[0].log).toContain("r0 = 0");
  });
});

describe("trimVerifierLog", () => {
  const { log } = parseLibbpfLog(LIBBPF_OUTPUT).programs[0];

  it("keeps the final message, the last instructions and their source lines", () => {
    const t = trimVerifierLog(log);
    expect(t.message).toBe("R0 invalid mem access 'map_value_or_null'");
    expect(t.sourceLine).toBe("*value += 1; @ rejected.bpf.c:17");
    expect(t.location).toBe("rejected.bpf.c:17");
    expect(t.text.split("\n").at(-1)).toBe(t.message);
    expect(t.text).toContain("7: (79) r1 = *(u64 *)(r0 +0)");
    expect(t.text).toContain("; __u64 *value = bpf_map_lookup_elem(&hits, &zero); @ rejected.bpf.c:16");
    expect(t.text).not.toContain("processed 7 insns");
    expect(t.text).not.toContain("0: R1=ctx() R10=fp0"); // state dumps are noise here
    expect(t.explanation).toMatch(/may be NULL/);
  });

  it("limits the window to the last N instructions but still shows a source line", () => {
    const long = ["; for (i = 0; i < n; i++) @ loop.c:3", ...Array.from({ length: 50 }, (_, i) => `${i}: (07) r1 += 1`), "back-edge from insn 49 to 0", "processed 60 insns"].join("\n");
    const t = trimVerifierLog(long, 5);
    expect(t.text.split("\n").filter((l) => /^\d+: \(/.test(l))).toHaveLength(5);
    expect(t.text.startsWith("; for (i = 0; i < n; i++) @ loop.c:3\n...")).toBe(true);
    expect(t.sourceLine).toBe("for (i = 0; i < n; i++) @ loop.c:3");
    expect(t.message).toBe("back-edge from insn 49 to 0");
    expect(t.explanation).toMatch(/loop/);
  });

  it("handles an empty log", () => {
    expect(trimVerifierLog("")).toMatchObject({ text: "", message: "" });
  });
});

describe("explainVerifierMessage", () => {
  it.each([
    ["R1 invalid mem access 'scalar'", /bpf_probe_read_kernel/],
    ["R0 invalid mem access 'map_value_or_null'", /NULL/],
    ["invalid indirect read from stack R2 off -16+4 size 16", /not fully initialized/],
    ["back-edge from insn 12 to 4", /from instruction 12 to 4/],
    ["unreachable insn 9", /instruction 9 can never run/],
    ["R0 !read_ok", /return value/],
    ["invalid access to map value, value_size=8 off=8 size=8", /bounds/],
  ])("%s", (message, expected) => {
    expect(explainVerifierMessage(message)).toMatch(expected);
  });

  it("returns undefined for unknown messages", () => {
    expect(explainVerifierMessage("something new")).toBeUndefined();
  });
});
