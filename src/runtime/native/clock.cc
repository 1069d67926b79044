// The offset from a kernel clock (CLOCK_MONOTONIC: bpf_ktime_get_ns; CLOCK_BOOTTIME:
// bpf_ktime_get_boot_ns) to the wall clock (CLOCK_REALTIME), measured here rather than in JS
// so nothing runs between the reads but the vDSO calls.
#include <time.h>

#include <cstdint>

#include "common.h"

namespace probegen {

static int64_t Nanoseconds(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Reads REALTIME, the clock, REALTIME again, many times; the pair read closest together (the
// smallest gap: no preemption, no interrupt between them) gives the offset, realtime's midpoint
// minus the clock. Returns [offset ns, gap ns] as bigints.
static Napi::Value ClockOffset(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  clockid_t clock = info[0].As<Napi::String>().Utf8Value() == "boottime" ? CLOCK_BOOTTIME : CLOCK_MONOTONIC;
  int64_t best_gap = INT64_MAX;
  int64_t best_offset = 0;
  for (int i = 0; i < 64; i++) {
    int64_t before = Nanoseconds(CLOCK_REALTIME);
    int64_t kernel = Nanoseconds(clock);
    int64_t after = Nanoseconds(CLOCK_REALTIME);
    if (after - before < best_gap) {
      best_gap = after - before;
      best_offset = before + (after - before) / 2 - kernel;
    }
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(uint32_t(0), Napi::BigInt::New(env, best_offset));
  out.Set(uint32_t(1), Napi::BigInt::New(env, best_gap));
  return out;
}

void InitClock(Napi::Env env, Napi::Object exports) {
  exports.Set("clockOffset", Napi::Function::New(env, ClockOffset, "clockOffset"));
}

}  // namespace probegen
