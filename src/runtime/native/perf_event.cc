#include "perf_event.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace probegen {

static int PerfEventOpen(perf_event_attr* attr, int cpu) {
  // Every task on `cpu` (pid -1): a sample of whatever runs there.
  return static_cast<int>(syscall(__NR_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

int AttachPerfClock(bpf_program* p, const PerfClock& clock, const std::vector<int>& cpus, std::vector<bpf_link*>* links, int* failedCpu) {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  // The CPU clock counts nanoseconds a CPU runs, idle included: a timer per CPU, as in
  // bpftrace's profile and interval probes and libbpf-tools' profile.
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  if (clock.frequency) {
    attr.freq = 1;
    attr.sample_freq = clock.frequency;
  } else {
    attr.sample_period = clock.periodNs;
  }
  size_t first = links->size();
  for (int cpu : cpus) {
    int fd = PerfEventOpen(&attr, cpu);
    bpf_link* link = fd < 0 ? nullptr : bpf_program__attach_perf_event(p, fd);
    if (!link) {
      int err = errno ? errno : EINVAL;
      if (fd >= 0) close(fd);
      for (size_t i = first; i < links->size(); i++) bpf_link__destroy((*links)[i]);
      links->resize(first);
      *failedCpu = cpu;
      return err;
    }
    links->push_back(link);
  }
  return 0;
}

}  // namespace probegen
