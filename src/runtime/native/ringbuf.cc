// Reads the ring buffer's shared pages directly (not libbpf's ring_buffer__poll)
// so that a drain can copy every committed record in one pass and hand JS one
// batch, with the consumer position advanced only for what was copied.
#include "ringbuf.h"

#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "object.h"

namespace probegen {

namespace {
constexpr uint32_t kHeaderSize = 8;  // u32 len (+busy/discard bits), u32 pgoff
constexpr size_t kInitialBatch = 64 * 1024;
// One batch stops growing past this, so a full 16 MiB ring cannot stall the
// loop for one giant callback; what is left is drained on the next loop turn.
constexpr uint64_t kMaxBatch = 1024 * 1024;
// Below this, the next drain runs on the next loop turn instead of a timer.
constexpr uint64_t kMinGapNs = 50 * 1000;

size_t NextPow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}
}  // namespace

RingCore* RingCore::Open(Napi::Env env, int fd, uint32_t size, Napi::Function onBatch, uint32_t drainIntervalMs,
                         BpfObject* owner) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (size == 0 || (size & (size - 1)) != 0) ThrowBpf(env, "ringBuffer", EINVAL, "ring buffer size is not a power of two");
  void* consumer = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (consumer == MAP_FAILED) ThrowBpf(env, "ringBuffer.mmap", errno, "cannot map the ring buffer's consumer page");
  // The data area is mapped twice back to back by the kernel, so a record that
  // wraps around the end is still contiguous here.
  size_t producerLen = page + 2 * static_cast<size_t>(size);
  void* producer = mmap(nullptr, producerLen, PROT_READ, MAP_SHARED, fd, page);
  if (producer == MAP_FAILED) {
    int err = errno;
    munmap(consumer, page);
    ThrowBpf(env, "ringBuffer.mmap", err, "cannot map the ring buffer's data pages");
  }
  // Edge-triggered readiness: a private epoll instance watches the map fd with
  // EPOLLET, and libuv polls that instance. A ring buffer fd is readable
  // (level) whenever any record is unread, which would make every loop turn
  // drain the few records written since the last one. With EPOLLET the instance
  // is readable only after a kernel wake-up, which only programs that ask for
  // wake-ups cause; generated programs leave the pacing to the timer.
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    int err = errno;
    munmap(consumer, page);
    munmap(producer, producerLen);
    ThrowBpf(env, "ringBuffer.epoll", err, "cannot create the ring buffer's epoll instance");
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int err = errno;
    close(epfd);
    munmap(consumer, page);
    munmap(producer, producerLen);
    ThrowBpf(env, "ringBuffer.epoll", err, "cannot watch the ring buffer fd");
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) {
    int err = errno;
    close(epfd);
    munmap(consumer, page);
    munmap(producer, producerLen);
    ThrowBpf(env, "ringBuffer.timerfd", err, "cannot create the ring buffer's drain timer");
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);

  RingCore* c = new RingCore();
  c->env_ = env;
  c->fd_ = fd;
  c->epfd_ = epfd;
  c->tfd_ = tfd;
  c->pageSize_ = page;
  c->mask_ = size - 1;
  c->consumer_ = consumer;
  c->producer_ = producer;
  c->producerLen_ = producerLen;
  c->data_ = static_cast<const uint8_t*>(producer) + page;
  c->intervalNs_ = static_cast<uint64_t>(drainIntervalMs == 0 ? 1 : drainIntervalMs) * 1000000u;
  c->owner_ = owner;
  c->onBatch_ = Napi::Persistent(onBatch);
  c->batchCap_ = std::min(kInitialBatch, static_cast<size_t>(size));
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, c->batchCap_);
  c->batchData_ = static_cast<uint8_t*>(ab.Data());
  c->batch_ = Napi::Persistent(ab);
  c->asyncContext_ = new Napi::AsyncContext(env, "probegen.ringbuf");
  uv_poll_init(loop, &c->poll_, epfd);  // readable after a wake-up of the map fd (edge)
  uv_poll_init(loop, &c->timer_, tfd);
  uv_idle_init(loop, &c->idle_);
  c->idle_.data = c;
  c->poll_.data = c;
  c->timer_.data = c;
  napi_add_async_cleanup_hook(env, OnEnvCleanup, c, &c->cleanupHook_);
  return c;
}

void RingCore::Start() {
  if (closed_ || running_) return;
  running_ = true;
  uv_poll_start(&poll_, UV_READABLE, OnPoll);
  uv_poll_start(&timer_, UV_READABLE, OnTimer);
  // First drain on the next loop turn (it arms the timer): records may have
  // come while paused.
  uv_idle_start(&idle_, OnIdle);
}

void RingCore::Pause() {
  if (closed_ || !running_) return;
  running_ = false;
  uv_poll_stop(&poll_);
  uv_poll_stop(&timer_);
  ArmTimer(0);
  uv_idle_stop(&idle_);
}

void RingCore::Ref() {
  if (closed_) return;
  uv_ref(reinterpret_cast<uv_handle_t*>(&poll_));
  uv_ref(reinterpret_cast<uv_handle_t*>(&timer_));
  uv_ref(reinterpret_cast<uv_handle_t*>(&idle_));
}

void RingCore::Unref() {
  if (closed_) return;
  uv_unref(reinterpret_cast<uv_handle_t*>(&poll_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&idle_));
}

void RingCore::Close() {
  if (closed_) return;
  closed_ = true;
  running_ = false;
  if (owner_) owner_->ForgetReader(this);
  owner_ = nullptr;
  if (wrapper_) wrapper_->Orphan();
  wrapper_ = nullptr;
  // Stop watching before the fd can be closed by the object; closing a poll
  // handle also removes the fd from libuv's epoll set right away.
  uv_poll_stop(&poll_);
  uv_poll_stop(&timer_);
  uv_idle_stop(&idle_);
  pendingCloses_ = 3;
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), OnClosed);
  // Closing the poll handles removed epfd_ and tfd_ from libuv's epoll set: safe to close now.
  if (epfd_ >= 0) close(epfd_);
  if (tfd_ >= 0) close(tfd_);
  epfd_ = tfd_ = -1;
  munmap(consumer_, pageSize_);
  munmap(producer_, producerLen_);
  consumer_ = producer_ = nullptr;
  data_ = nullptr;
  onBatch_.Reset();
  batch_.Reset();
  batchData_ = nullptr;
  delete asyncContext_;
  asyncContext_ = nullptr;
}

void RingCore::OnClosed(uv_handle_t* h) {
  RingCore* c = static_cast<RingCore*>(h->data);
  if (--c->pendingCloses_ > 0) return;
  if (c->cleanupHook_) napi_remove_async_cleanup_hook(c->cleanupHook_);
  delete c;
}

// The environment is going away (worker terminated, process exiting) with the
// reader still open: close it; OnClosed then releases the hook.
void RingCore::OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* self) {
  static_cast<RingCore*>(self)->Close();
}

void RingCore::OnPoll(uv_poll_t* h, int status, int events) {
  RingCore* c = static_cast<RingCore*>(h->data);
  if (status < 0) {
    c->DeliverError(-status);
    return;
  }
  // Consume the edge (EPOLLET entries leave the ready list once reported), so
  // the instance stays quiet until the next kernel wake-up.
  epoll_event evs[1];
  while (epoll_wait(c->epfd_, evs, 1, 0) < 0 && errno == EINTR) {
  }
  c->Drain();
}

void RingCore::OnTimer(uv_poll_t* h, int status, int events) {
  RingCore* c = static_cast<RingCore*>(h->data);
  uint64_t expirations;
  while (read(c->tfd_, &expirations, sizeof(expirations)) < 0 && errno == EINTR) {
  }
  c->Tick();
}

// One-shot, relative; 0 disarms.
void RingCore::ArmTimer(uint64_t ns) {
  itimerspec its{};
  its.it_value.tv_sec = static_cast<time_t>(ns / 1000000000u);
  its.it_value.tv_nsec = static_cast<long>(ns % 1000000000u);
  timerfd_settime(tfd_, 0, &its, nullptr);
}

void RingCore::Tick() {
  Drain();
  ScheduleNext();
}

void RingCore::ScheduleNext() {
  if (closed_ || !running_) return;
  uv_idle_stop(&idle_);
  uint64_t gap = intervalNs_;
  if (lastSpan_ >= kMaxBatch) {
    gap = 0;  // a capped batch left records behind
  } else if (bytesPerNs_ > 0) {
    // At the rate the last drains saw, when will a quarter of the ring be
    // unread? Drain by then, so a burst still has three quarters of room.
    double fill = static_cast<double>((mask_ + 1) / 4) / bytesPerNs_;
    if (fill < static_cast<double>(gap)) gap = static_cast<uint64_t>(fill);
  }
  if (gap < kMinGapNs) {
    // Sooner than a timer is worth: drain on the next loop turn (an idle handle
    // runs once per turn, then lets the loop poll without blocking).
    ArmTimer(0);
    uv_idle_start(&idle_, OnIdle);
    return;
  }
  ArmTimer(gap);
}

// One drain on this loop turn (on start, after a capped batch, under a high rate).
void RingCore::OnIdle(uv_idle_t* h) {
  RingCore* c = static_cast<RingCore*>(h->data);
  uv_idle_stop(&c->idle_);
  c->Tick();
}

size_t RingCore::Collect(uint64_t* start) {
  auto* consumerPos = static_cast<uint64_t*>(consumer_);
  auto* producerPos = static_cast<const uint64_t*>(producer_);
  uint64_t cons = __atomic_load_n(consumerPos, __ATOMIC_ACQUIRE);
  uint64_t prod = __atomic_load_n(producerPos, __ATOMIC_ACQUIRE);
  *start = cons;
  while (cons < prod && cons - *start < kMaxBatch) {
    auto* hdr = reinterpret_cast<const uint32_t*>(data_ + (cons & mask_));
    uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
    if (len & BPF_RINGBUF_BUSY_BIT) break;  // still being written: stop here, keep order
    len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    cons += (static_cast<uint64_t>(len) + kHeaderSize + 7) & ~uint64_t(7);
  }
  return static_cast<size_t>(cons - *start);
}

size_t RingCore::Drain() {
  if (closed_ || delivering_) return 0;
  uint64_t now = uv_hrtime();
  uint64_t since = now - lastDrainNs_;
  lastDrainNs_ = now;
  uint64_t start;
  size_t span = Collect(&start);
  lastSpan_ = span;
  // The write rate since the last drain. An empty drain soon after another
  // (records still being written, a turn of the loop) says nothing about it;
  // only a whole interval without records means the writers went quiet.
  if (span > 0)
    bytesPerNs_ = static_cast<double>(span) / static_cast<double>(since == 0 ? 1 : since);
  else if (since >= intervalNs_)
    bytesPerNs_ = 0;
  if (span == 0) return 0;

  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  if (span > batchCap_) {
    batchCap_ = NextPow2(span);
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, batchCap_);
    batchData_ = static_cast<uint8_t*>(ab.Data());
    batch_ = Napi::Persistent(ab);
  }
  memcpy(batchData_, data_ + (start & mask_), span);
  // Free the ring space before JS runs: the copy is ours now.
  __atomic_store_n(static_cast<uint64_t*>(consumer_), start + span, __ATOMIC_RELEASE);

  delivering_ = true;
  try {
    // MakeCallback (not Call) so nextTicks and promise jobs run after the batch.
    onBatch_.MakeCallback(env.Global(), {batch_.Value(), Napi::Number::New(env, static_cast<double>(span))},
                          *asyncContext_);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env_, e.Value());
  }
  delivering_ = false;
  return span;
}

void RingCore::DeliverError(int err) {
  Pause();
  if (closed_) return;
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  try {
    onBatch_.MakeCallback(env.Global(), {env.Null(), Napi::Number::New(env, err)}, *asyncContext_);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env_, e.Value());
  }
}

// ---- JS wrapper ----

Napi::Function RingReader::Define(Napi::Env env) {
  return DefineClass(env, "RingReader",
                     {
                         InstanceMethod<&RingReader::Start>("start"),
                         InstanceMethod<&RingReader::Pause>("pause"),
                         InstanceMethod<&RingReader::Ref>("ref"),
                         InstanceMethod<&RingReader::Unref>("unref"),
                         InstanceMethod<&RingReader::Drain>("drain"),
                         InstanceMethod<&RingReader::Close>("close"),
                     });
}

Napi::Object RingReader::Wrap(Napi::Env env, RingCore* core) {
  return GetAddonData(env)->ringReaderCtor.New({Napi::External<RingCore>::New(env, core)});
}

RingReader::RingReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingReader>(info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "RingReader is created by BpfObject.openRingBuffer");
  core_ = info[0].As<Napi::External<RingCore>>().Data();
  core_->SetWrapper(this);
}

RingReader::~RingReader() {
  if (core_) {
    core_->Detach(this);
    core_->Close();
  }
}

Napi::Value RingReader::Start(const Napi::CallbackInfo& info) {
  if (core_) core_->Start();
  return info.Env().Undefined();
}
Napi::Value RingReader::Pause(const Napi::CallbackInfo& info) {
  if (core_) core_->Pause();
  return info.Env().Undefined();
}
Napi::Value RingReader::Ref(const Napi::CallbackInfo& info) {
  if (core_) core_->Ref();
  return info.Env().Undefined();
}
Napi::Value RingReader::Unref(const Napi::CallbackInfo& info) {
  if (core_) core_->Unref();
  return info.Env().Undefined();
}
Napi::Value RingReader::Drain(const Napi::CallbackInfo& info) {
  size_t n = core_ ? core_->Drain() : 0;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}
Napi::Value RingReader::Close(const Napi::CallbackInfo& info) {
  if (core_) core_->Close();  // Close() orphans this wrapper
  return info.Env().Undefined();
}

Napi::Object InitRingReader(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = RingReader::Define(env);
  GetAddonData(env)->ringReaderCtor = Napi::Persistent(ctor);
  exports.Set("RingReader", ctor);
  return exports;
}

}  // namespace probegen
