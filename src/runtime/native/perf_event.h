// perf_event software clocks that run a BPF program (profile/HZ, interval/MS): one event per
// CPU, each attached with bpf_program__attach_perf_event, whose link owns the event's fd.
#pragma once

#include <bpf/libbpf.h>

#include <cstdint>
#include <vector>

namespace probegen {

struct PerfClock {
  uint64_t frequency = 0;  // samples per second; 0: use periodNs
  uint64_t periodNs = 0;   // nanoseconds of CPU clock between runs
};

// Opens the clock on each CPU of `cpus` and attaches `p` to it, appending the links. On
// failure nothing stays open: returns an errno and sets `*failedCpu`.
int AttachPerfClock(bpf_program* p, const PerfClock& clock, const std::vector<int>& cpus, std::vector<bpf_link*>* links, int* failedCpu);

}  // namespace probegen
