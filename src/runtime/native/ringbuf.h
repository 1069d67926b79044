// Ring buffer reader: mmaps a BPF_MAP_TYPE_RINGBUF map and delivers copied
// batches of raw records to JS. Generated programs submit with BPF_RB_NO_WAKEUP,
// as the hand-written programs of batched readers do: a wake-up costs the
// producing CPU an irq_work per record, more than the record itself. The reader
// drains on a timer every drain interval instead, sooner when the rate of the
// last drains would fill a quarter of the ring before the interval ends. The
// timer is a timerfd (a uv_poll_t watches it): libuv's timers count whole
// milliseconds, and a 1 ms timer that fires after 2 ms doubles the ring a
// reader needs.
// Wake-ups from programs that do ask for them (flags 0, FORCE) drain at once,
// through a uv_poll_t on an edge-triggered epoll instance watching the map fd.
#pragma once

#include <uv.h>

#include <cstdint>

#include "common.h"

namespace probegen {

class BpfObject;
class RingReader;

class RingCore {
 public:
  static RingCore* Open(Napi::Env env, int fd, uint32_t size, Napi::Function onBatch, uint32_t drainIntervalMs,
                        BpfObject* owner);
  void Close();  // idempotent; memory is freed once libuv has closed both handles
  void Start();
  void Pause();
  void Ref();
  void Unref();
  size_t Drain();  // copy + deliver what is committed now; returns bytes delivered
  bool closed() const { return closed_; }
  int fd() const { return fd_; }
  void Detach(RingReader* w) { if (wrapper_ == w) wrapper_ = nullptr; }
  void SetWrapper(RingReader* w) { wrapper_ = w; }

 private:
  RingCore() = default;
  ~RingCore() = default;
  static void OnPoll(uv_poll_t* h, int status, int events);
  static void OnTimer(uv_poll_t* h, int status, int events);
  static void OnIdle(uv_idle_t* h);
  static void OnClosed(uv_handle_t* h);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* self);
  size_t Collect(uint64_t* start);  // bytes of complete records from consumer pos
  void Tick();          // a scheduled drain: drain, then schedule the next one
  void ScheduleNext();  // timer for the next drain, or the next loop turn under a high rate
  void DeliverError(int err);

  napi_env env_ = nullptr;
  // Holds env teardown (and so the addon's unloading) until libuv has run
  // our close callbacks, which live in this shared object.
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  uv_poll_t poll_{};
  uv_poll_t timer_{};  // watches tfd_
  int tfd_ = -1;       // timerfd, CLOCK_MONOTONIC, one-shot
  void ArmTimer(uint64_t ns);
  uv_idle_t idle_{};  // one extra drain on the next loop turn (after a capped batch, on start)
  int fd_ = -1;
  int epfd_ = -1;  // private epoll instance: fd_ with EPOLLET (see Open)
  int pendingCloses_ = 0;
  bool closed_ = false;
  bool running_ = false;
  bool delivering_ = false;
  uint64_t intervalNs_ = 1000000;  // longest time between two drains
  uint64_t lastDrainNs_ = 0;       // uv_hrtime() when the last drain began
  uint64_t lastSpan_ = 0;          // bytes it delivered
  double bytesPerNs_ = 0;          // the write rate the last drains saw

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
