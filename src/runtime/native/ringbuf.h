// Ring buffer reader: mmaps a BPF_MAP_TYPE_RINGBUF map and delivers copied
// batches of raw records to JS, driven by one uv_poll_t on an edge-triggered epoll
// instance watching the map fd, plus a uv_timer_t (programs submit with
// BPF_RB_NO_WAKEUP except at the threshold, so the timer bounds latency).
#pragma once

#include <uv.h>

#include <cstdint>

#include "common.h"

namespace probegen {

class BpfObject;
class RingReader;

class RingCore {
 public:
  static RingCore* Open(Napi::Env env, int fd, uint32_t size, Napi::Function onBatch, uint32_t intervalMs,
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
  static void OnTimer(uv_timer_t* h);
  static void OnIdle(uv_idle_t* h);
  static void OnClosed(uv_handle_t* h);
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* self);
  size_t Collect(uint64_t* start);  // bytes of complete records from consumer pos
  void DeliverError(int err);

  napi_env env_ = nullptr;
  // Holds env teardown (and so the addon's unloading) until libuv has run
  // our close callbacks, which live in this shared object.
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;
  uv_poll_t poll_{};
  uv_timer_t timer_{};
  uv_idle_t idle_{};  // one extra drain on the next loop turn (after a capped batch, on start)
  int fd_ = -1;
  int epfd_ = -1;  // private epoll instance: fd_ with EPOLLET (see Open)
  int pendingCloses_ = 0;
  bool closed_ = false;
  bool running_ = false;
  bool delivering_ = false;
  uint32_t intervalMs_ = 10;

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
