// Ring buffer reader: mmaps a BPF_MAP_TYPE_RINGBUF map and delivers copied
// batches of raw records to JS.
//
// A drain thread copies the kernel ring's records into a staging ring (up to
// 64 MiB, virtual until used), and the JS thread takes them (uv_async_t) as
// batches: the kernel ring never waits for JS, so a cold (not yet optimised)
// reader, a GC pause or an app's synchronous work does not drop records. Past
// the staging cap the kernel ring keeps (and then drops, counted) the rest.
//
// Generated programs submit with BPF_RB_NO_WAKEUP, as the hand-written programs
// of batched readers do: a wake-up costs the producing CPU an irq_work per
// record, more than the record itself. The drain thread paces itself on a
// timerfd: every drain interval, sooner when the rate of the last drains would
// fill a quarter of the ring first. Kernel wake-ups (programs that ask for
// them) drain at once: the thread's epoll also watches the map fd (EPOLLET).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common.h"

namespace probegen {

class BpfObject;
class RingReader;

// The data section of the generated programs' wake flags (see BpfObject::WakeFlagOf).
constexpr const char* kWakeMap = ".data.pg_wake";

// Where a ring's reader tells the programs that it sleeps: a u32 in an mmapable
// array map's value. fd < 0: the programs have no flag for this ring.
struct WakeFlag {
  int fd = -1;
  size_t offset = 0;
  size_t size = 0;  // the map's value size
};

class RingCore {
 public:
  static RingCore* Open(Napi::Env env, int fd, uint32_t size, Napi::Function onBatch, uint32_t drainIntervalMs,
                        size_t stagingBytes, BpfObject* owner, WakeFlag wake);
  void Close();  // idempotent; stops the drain thread; memory is freed once libuv has closed the handles
  void Start();
  void Pause();
  void Ref();
  void Unref();
  size_t Drain();  // JS thread: drain the kernel now and deliver everything staged; returns bytes delivered
  bool closed() const { return closed_; }
  int fd() const { return fd_; }
  void Detach(RingReader* w) { if (wrapper_ == w) wrapper_ = nullptr; }
  void SetWrapper(RingReader* w) { wrapper_ = w; }

 private:
  RingCore() = default;
  ~RingCore() = default;
  static void OnAsync(uv_async_t* h);
  static void OnIdle(uv_idle_t* h);
  static void OnClosed(uv_handle_t* h);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* self);

  // Drain thread.
  void ThreadMain();
  void ArmTimer(uint64_t at);  // one-shot, at this CLOCK_MONOTONIC time (uv_hrtime); 0 disarms
  void ScheduleNext(size_t span, uint64_t now);  // `now`: when the drain that found `span` bytes ran
  bool Quiet();                // no record for kSleepAfterNs (or a whole interval), and none left unread in the kernel ring
  void WatchRing(uint32_t events);  // the ring fd's events in the thread's epoll
  bool Sleep();                // raise the flag and watch the ring; false when records came meanwhile
  void Wake();                 // lower the flag and mute the ring
  size_t Stage(uint64_t now);  // kernel ring -> a staged chunk (whole records, under the cap)
  size_t Collect(uint64_t* start, size_t limit);  // bytes of complete records from the consumer position
  void Signal();               // wake the drain thread (start, pause, close)

  // JS thread.
  size_t DeliverStaged();      // one batch of staged chunks to JS
  void DeliverError(int err);
  void ReportOrDrop(const Napi::Error& e);  // a JS error to the process, or nothing when JS cannot run

  napi_env env_ = nullptr;
  // Holds env teardown (and so the addon's unloading) until libuv has run
  // our close callbacks, which live in this shared object.
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  uv_async_t async_{};  // drain thread -> JS: chunks are staged (or an error)
  uv_idle_t idle_{};    // one more delivery on the next loop turn (a capped batch)
  int fd_ = -1;
  int pendingCloses_ = 0;
  bool closed_ = false;
  bool delivering_ = false;

  // Shared with the drain thread.
  std::thread thread_;
  int epfd_ = -1;    // the thread's epoll: fd_, tfd_, wakeFd_
  int tfd_ = -1;     // timerfd, CLOCK_MONOTONIC
  int wakeFd_ = -1;  // eventfd
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};
  uint32_t ringEvents_ = 0;   // drain thread only: what the thread's epoll watches the ring fd for
  bool asleep_ = false;       // drain thread only
  uint64_t deadline_ = 0;     // drain thread only: when the timer is due (0: disarmed)
  void* wakeMap_ = nullptr;   // mmap of the wake flags' map (null: this reader never sleeps)
  size_t wakeMapLen_ = 0;
  uint32_t* wake_ = nullptr;  // this ring's flag in wakeMap_: 1 while asleep
  std::atomic<int> error_{0};
  std::mutex drainMu_;  // the kernel ring's consumer side and the rate below (drain thread, flush())
  // Staged records: a ring of stageCap_ bytes (a power of two); the stagers
  // (under drainMu_) move the tail, the JS thread the head, both under
  // stageMu_, which guards the two positions and nothing else.
  uint8_t* stage_ = nullptr;  // mmap, MAP_NORESERVE
  size_t stageCap_ = 0;
  size_t stagePrefault_ = 0;  // the front bytes touched at open
  std::mutex stageMu_;
  uint64_t stageHead_ = 0;
  uint64_t stageTail_ = 0;
  uint64_t intervalNs_ = 1000000;  // longest time between two drains
  uint64_t lastDrainNs_ = 0;       // under drainMu_
  uint64_t stageTouched_ = 0;      // under drainMu_: bytes of stage_ that may be resident
  uint64_t lastTrimNs_ = 0;        // under drainMu_
  double bytesPerNs_ = 0;          // under drainMu_: the write rate the last drains saw
  uint64_t lastRecordNs_ = 0;      // under drainMu_: when a drain last found records (0: never)

  size_t pageSize_ = 0;
  uint64_t mask_ = 0;        // ring size - 1 (size is a power of two)
  void* consumer_ = nullptr; // rw page: consumer_pos
  void* producer_ = nullptr; // ro: producer_pos page + 2x data
  size_t producerLen_ = 0;
  const uint8_t* data_ = nullptr;

  Napi::FunctionReference onBatch_;
  Napi::Reference<Napi::ArrayBuffer> batch_;  // reused; replaced when too small
  uint8_t* batchData_ = nullptr;
  size_t batchCap_ = 0;
  Napi::AsyncContext* asyncContext_ = nullptr;

  BpfObject* owner_ = nullptr;
  RingReader* wrapper_ = nullptr;
};

class RingReader : public Napi::ObjectWrap<RingReader> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, RingCore* core);
  explicit RingReader(const Napi::CallbackInfo& info);
  ~RingReader() override;
  void Orphan() { core_ = nullptr; }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  RingCore* core_ = nullptr;
};

}  // namespace probegen
