// Reads the ring buffer's shared pages directly (not libbpf's ring_buffer__poll)
// so that a drain can copy every committed record in one pass, with the
// consumer position advanced only for what was copied. See ringbuf.h for the
// drain thread and its pacing.
#include "ringbuf.h"

#include <linux/bpf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "object.h"

namespace probegen {

namespace {
constexpr uint32_t kHeaderSize = 8;  // u32 len (+busy/discard bits), u32 pgoff
constexpr size_t kInitialBatch = 64 * 1024;
// One JS batch stops growing past this, so a large backlog cannot stall the
// loop for one giant callback; the rest goes on the next loop turn.
constexpr size_t kMaxBatch = 1024 * 1024;
// Staged bytes JS has not taken yet, on top of the kernel ring: a reader that
// V8 has not optimised yet decodes ~5x slower, and fell ~10 MB behind in the
// first 50 ms of a 150 MB/s burst. Virtual until records reach it: the staging
// restarts at offset 0 whenever JS has taken everything, so only the peak
// backlog's pages are ever touched, and the first kStagePrefault are touched
// at open (a page fault in the drain thread waits for the mm lock, which V8
// takes for every mprotect of JIT code, exactly when a cold reader needs it).
constexpr size_t kStageBytes = 64 * 1024 * 1024;
constexpr size_t kStagePrefault = 2 * 1024 * 1024;
// After a backlog went past the prefaulted part, its pages go back to the
// kernel once the staging is empty again, at most this often.
constexpr uint64_t kStageTrimNs = 1000000000;
constexpr int kDrainThreadNice = -10;

size_t NextPow2(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// Copies `len` bytes into / out of a power-of-two ring of `cap` bytes at
// position `pos`, wrapping at its end.
void CopyIntoRing(uint8_t* ring, size_t cap, uint64_t pos, const uint8_t* from, size_t len) {
  size_t at = static_cast<size_t>(pos & (cap - 1));
  size_t first = std::min(len, cap - at);
  memcpy(ring + at, from, first);
  memcpy(ring, from + first, len - first);
}

void CopyOutOfRing(const uint8_t* ring, size_t cap, uint64_t pos, uint8_t* to, size_t len) {
  size_t at = static_cast<size_t>(pos & (cap - 1));
  size_t first = std::min(len, cap - at);
  memcpy(to, ring + at, first);
  memcpy(to + first, ring, len - first);
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}
}  // namespace

RingCore* RingCore::Open(Napi::Env env, int fd, uint32_t size, Napi::Function onBatch, uint32_t drainIntervalMs,
                         size_t stagingBytes, BpfObject* owner, WakeFlag wake) {
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (size == 0 || (size & (size - 1)) != 0) ThrowBpf(env, "ringBuffer", EINVAL, "ring buffer size is not a power of two");
  void* consumer = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (consumer == MAP_FAILED) ThrowBpf(env, "ringBuffer.mmap", errno, "cannot map the ring buffer's consumer page");
  // The data area is mapped twice back to back by the kernel, so a record that
  // wraps around the end is still contiguous here.
  size_t producerLen = page + 2 * static_cast<size_t>(size);
  // MAP_POPULATE: the drain thread should not fault (see kStagePrefault).
  void* producer = mmap(nullptr, producerLen, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, page);
  if (producer == MAP_FAILED) {
    int err = errno;
    munmap(consumer, page);
    ThrowBpf(env, "ringBuffer.mmap", err, "cannot map the ring buffer's data pages");
  }
  if (stagingBytes == 0) stagingBytes = kStageBytes;
  if ((stagingBytes & (stagingBytes - 1)) != 0 || stagingBytes < 65536) {
    munmap(consumer, page);
    munmap(producer, producerLen);
    ThrowBpf(env, "ringBuffer", EINVAL, "staging size is not a power of two of at least 64 KiB");
  }
  size_t prefault = std::min(kStagePrefault, stagingBytes);
  void* stage = mmap(nullptr, stagingBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (stage == MAP_FAILED) {
    int err = errno;
    munmap(consumer, page);
    munmap(producer, producerLen);
    ThrowBpf(env, "ringBuffer.mmap", err, "cannot map the ring buffer reader's staging area");
  }
  void* wakeMap = nullptr;
  size_t wakeMapLen = 0;
  if (wake.fd >= 0) {
    // Best effort: a reader that cannot map the flags never sleeps.
    wakeMapLen = (wake.size + page - 1) / page * page;
    wakeMap = mmap(nullptr, wakeMapLen, PROT_READ | PROT_WRITE, MAP_SHARED, wake.fd, 0);
    if (wakeMap == MAP_FAILED) wakeMap = nullptr;
  }
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  int wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  int err = (epfd < 0 || tfd < 0 || wakeFd < 0) ? errno : 0;
  // With wake flags the map fd starts muted: the thread watches it only while
  // asleep (see ThreadMain). Without, edge-triggered: only a kernel wake-up
  // (a program submitting with flags 0) makes the thread drain early.
  const uint32_t ringEvents = wakeMap ? 0 : EPOLLIN | EPOLLET;
  const std::pair<int, uint32_t> watches[] = {{fd, ringEvents}, {tfd, EPOLLIN}, {wakeFd, EPOLLIN}};
  for (const auto& [watch, flags] : watches) {
    if (err) break;
    epoll_event ev{};
    ev.events = flags;
    ev.data.fd = watch;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, watch, &ev) != 0) err = errno;
  }
  if (err) {
    CloseFd(epfd);
    CloseFd(tfd);
    CloseFd(wakeFd);
    munmap(consumer, page);
    munmap(producer, producerLen);
    munmap(stage, stagingBytes);
    if (wakeMap) munmap(wakeMap, wakeMapLen);
    ThrowBpf(env, "ringBuffer.epoll", err, "cannot set up the ring buffer's drain thread (epoll, timerfd, eventfd)");
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);

  RingCore* c = new RingCore();
  c->env_ = env;
  c->fd_ = fd;
  c->epfd_ = epfd;
  c->tfd_ = tfd;
  c->wakeFd_ = wakeFd;
  c->pageSize_ = page;
  c->mask_ = size - 1;
  c->consumer_ = consumer;
  c->producer_ = producer;
  c->producerLen_ = producerLen;
  c->data_ = static_cast<const uint8_t*>(producer) + page;
  c->intervalNs_ = static_cast<uint64_t>(drainIntervalMs == 0 ? 1 : drainIntervalMs) * 1000000u;
  c->ringEvents_ = ringEvents;
  c->wakeMap_ = wakeMap;
  c->wakeMapLen_ = wakeMapLen;
  if (wakeMap) c->wake_ = reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(wakeMap) + wake.offset);
  c->stage_ = static_cast<uint8_t*>(stage);
  c->stageCap_ = stagingBytes;
  c->stagePrefault_ = prefault;
  memset(c->stage_, 0, prefault);
  c->stageTouched_ = prefault;
  c->owner_ = owner;
  c->onBatch_ = Napi::Persistent(onBatch);
  c->batchCap_ = std::min(kInitialBatch, static_cast<size_t>(size));
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, c->batchCap_);
  c->batchData_ = static_cast<uint8_t*>(ab.Data());
  c->batch_ = Napi::Persistent(ab);
  c->asyncContext_ = new Napi::AsyncContext(env, "probegen.ringbuf");
  uv_async_init(loop, &c->async_, OnAsync);
  uv_idle_init(loop, &c->idle_);
  c->async_.data = c;
  c->idle_.data = c;
  napi_add_async_cleanup_hook(env, OnEnvCleanup, c, &c->cleanupHook_);
  c->thread_ = std::thread(&RingCore::ThreadMain, c);
  return c;
}

void RingCore::Signal() {
  uint64_t one = 1;
  while (write(wakeFd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void RingCore::Start() {
  if (closed_ || running_) return;
  running_ = true;
  Signal();
  // Deliver what was staged before a pause, on the next loop turn.
  uv_idle_start(&idle_, OnIdle);
}

void RingCore::Pause() {
  if (closed_ || !running_) return;
  running_ = false;  // the thread stops draining: the kernel keeps the records
  Signal();
  uv_idle_stop(&idle_);
}

void RingCore::Ref() {
  if (closed_) return;
  uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
  uv_ref(reinterpret_cast<uv_handle_t*>(&idle_));
}

void RingCore::Unref() {
  if (closed_) return;
  uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
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
  // Stop the thread before anything it uses goes: the map fd belongs to the
  // object, which closes it right after this.
  stop_ = true;
  Signal();
  if (thread_.joinable()) thread_.join();
  CloseFd(epfd_);
  CloseFd(tfd_);
  CloseFd(wakeFd_);
  uv_idle_stop(&idle_);
  pendingCloses_ = 2;
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), OnClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), OnClosed);
  munmap(consumer_, pageSize_);
  munmap(producer_, producerLen_);
  consumer_ = producer_ = nullptr;
  data_ = nullptr;
  munmap(stage_, stageCap_);  // the thread is gone
  if (wakeMap_) munmap(wakeMap_, wakeMapLen_);
  wakeMap_ = nullptr;
  wake_ = nullptr;
  stage_ = nullptr;
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

// ---- drain thread ----

// The reader sleeps only after this long without records. Waking it costs the
// producing CPU an irq_work per record (~45 us measured in this VM: an IPI;
// a few us on bare metal); staying awake costs the reader ~18 us per 1 ms tick.
// So events closer together than this never ask for a wake-up (the programs
// cost what hand-written NO_WAKEUP ones do), and a quiet probe costs nothing.
constexpr uint64_t kSleepAfterNs = 20'000'000;

// Asleep, the thread still drains this often: 10 wake-ups a second, ~0.005 %
// of a core, to bound a race between the flag and a program (see ThreadMain).
constexpr uint64_t kAsleepCheckNs = 100'000'000;

void RingCore::ThreadMain() {
  // Best effort (needs CAP_SYS_NICE, which BPF users usually have as root): a
  // higher weight lets this short-running thread preempt a busy JS thread
  // sharing its CPU before the ring fills.
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kDrainThreadNice);
  // Two modes when the programs have a wake flag for this ring (generated
  // ones do). Awake, while records keep coming: the timer drains every
  // interval (sooner at a high rate); the flag is down, so the programs submit
  // with BPF_RB_NO_WAKEUP and cost no irq_work. Asleep, after kSleepAfterNs
  // without records: no drain timer; the flag is up, so the next record
  // forces a wake-up, which the thread's epoll sees on the ring fd. An
  // attached probe without events costs no CPU.
  epoll_event evs[3];
  while (!stop_) {
    int n = epoll_wait(epfd_, evs, 3, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      uv_async_send(&async_);
      return;
    }
    // Reset the timerfd's and eventfd's counters (the map fd has nothing to
    // read).
    for (int i = 0; i < n; i++) {
      if (evs[i].data.fd != tfd_ && evs[i].data.fd != wakeFd_) continue;
      uint64_t count;
      while (read(evs[i].data.fd, &count, sizeof(count)) < 0 && errno == EINTR) {
      }
    }
    if (stop_) return;
    if (asleep_) Wake();
    if (!running_) {
      // Paused: the kernel keeps the records; only Start or Close wake us.
      ArmTimer(0);
      continue;
    }
    uint64_t now = uv_hrtime();
    size_t span = Stage(now);
    // The next drain is set before JS hears of this one: waking the JS thread
    // lets the scheduler give this CPU to another thread (the woken one, or
    // whatever else waits), and a timer armed only when this thread runs
    // again would add that wait to the next drain (see ScheduleNext).
    if (span == 0 && wake_ && Quiet() && Sleep()) {
      // A program may read the flag just before it goes up (its load can pass
      // our store): the slow timer bounds what such a record waits.
      ArmTimer(now + std::max(intervalNs_, kAsleepCheckNs));
    } else {
      ScheduleNext(span, now);
    }
    if (span > 0) uv_async_send(&async_);
  }
}

bool RingCore::Sleep() {
  __atomic_store_n(wake_, 1u, __ATOMIC_SEQ_CST);
  // A record reserved before the flag went up was submitted without a wake-up.
  if (!Quiet()) {
    __atomic_store_n(wake_, 0u, __ATOMIC_RELAXED);
    return false;
  }
  asleep_ = true;
  WatchRing(EPOLLIN);  // level-triggered: a record that lands from now on wakes us
  return true;
}

void RingCore::Wake() {
  __atomic_store_n(wake_, 0u, __ATOMIC_RELAXED);
  asleep_ = false;
  WatchRing(0);
}

bool RingCore::Quiet() {
  {
    std::lock_guard<std::mutex> lock(drainMu_);
    if (lastRecordNs_ != 0 && uv_hrtime() - lastRecordNs_ < std::max(intervalNs_, kSleepAfterNs)) return false;
  }
  // Records the staging had no room for (or one still being written) keep
  // the timer going: no wake-up would announce them.
  uint64_t cons = __atomic_load_n(static_cast<uint64_t*>(consumer_), __ATOMIC_ACQUIRE);
  uint64_t prod = __atomic_load_n(static_cast<const uint64_t*>(producer_), __ATOMIC_ACQUIRE);
  return cons == prod;
}

void RingCore::WatchRing(uint32_t events) {
  if (ringEvents_ == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd_;
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd_, &ev) == 0) ringEvents_ = events;
}

void RingCore::ArmTimer(uint64_t at) {
  deadline_ = at;
  itimerspec its{};
  its.it_value.tv_sec = static_cast<time_t>(at / 1000000000u);
  its.it_value.tv_nsec = static_cast<long>(at % 1000000000u);
  timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
}

void RingCore::ScheduleNext(size_t span, uint64_t now) {
  double rate;
  {
    std::lock_guard<std::mutex> lock(drainMu_);
    rate = bytesPerNs_;
  }
  uint64_t gap = intervalNs_;
  if (span >= kMaxBatch) {
    gap = 0;  // a capped drain left records behind
  } else if (rate > 0) {
    // At the rate the last drains saw, when will a quarter of the ring be
    // unread? Drain by then, so a burst still has three quarters of room.
    double fill = static_cast<double>((mask_ + 1) / 4) / rate;
    if (fill < static_cast<double>(gap)) gap = static_cast<uint64_t>(fill);
  }
  // Drains keep to a grid: the next one is due a gap after this one was due,
  // not after this thread got the CPU to run it. When the CPU is shared (with
  // the JS thread, whose work grows with the rate, or anything else), the
  // thread runs late now and then; a timer counted from then would add the
  // delay to the next drain too. Woken before its time (a kernel wake-up, a start),
  // or later than a whole gap: a new grid from now.
  uint64_t next = deadline_ != 0 && deadline_ <= now ? deadline_ + gap : now + gap;
  if (next < now) next = now + gap;
  ArmTimer(next);  // at or before now: fires at once
}

size_t RingCore::Collect(uint64_t* start, size_t limit) {
  auto* consumerPos = static_cast<uint64_t*>(consumer_);
  auto* producerPos = static_cast<const uint64_t*>(producer_);
  uint64_t cons = __atomic_load_n(consumerPos, __ATOMIC_ACQUIRE);
  uint64_t prod = __atomic_load_n(producerPos, __ATOMIC_ACQUIRE);
  *start = cons;
  while (cons < prod) {
    auto* hdr = reinterpret_cast<const uint32_t*>(data_ + (cons & mask_));
    uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
    if (len & BPF_RINGBUF_BUSY_BIT) break;  // still being written: stop here, keep order
    len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    uint64_t next = cons + ((static_cast<uint64_t>(len) + kHeaderSize + 7) & ~uint64_t(7));
    if (next - *start > limit) break;
    cons = next;
  }
  return static_cast<size_t>(cons - *start);
}

size_t RingCore::Stage(uint64_t now) {
  std::lock_guard<std::mutex> lock(drainMu_);
  uint64_t since = now - lastDrainNs_;
  lastDrainNs_ = now;
  uint64_t start;
  uint64_t head, tail;
  {
    std::lock_guard<std::mutex> positions(stageMu_);
    if (stageHead_ == stageTail_) {
      // Empty: restart at the front, and return the pages a past backlog
      // touched (JS reads nothing while the staging is empty).
      stageHead_ = stageTail_ = 0;
      if (stageTouched_ > stagePrefault_ && now - lastTrimNs_ >= kStageTrimNs) {
        madvise(stage_ + stagePrefault_, stageTouched_ - stagePrefault_, MADV_DONTNEED);
        stageTouched_ = stagePrefault_;
        lastTrimNs_ = now;
      }
    }
    head = stageHead_;
    tail = stageTail_;  // only stagers (under drainMu_) move it
  }
  size_t room = stageCap_ - static_cast<size_t>(tail - head);
  size_t span = Collect(&start, std::min(room, kMaxBatch));
  // The write rate since the last drain. An empty drain soon after another
  // (records still being written) says nothing about it; only a whole
  // interval without records means the writers went quiet.
  if (span > 0) {
    bytesPerNs_ = static_cast<double>(span) / static_cast<double>(since == 0 ? 1 : since);
    lastRecordNs_ = now;
  }
  else if (since >= intervalNs_)
    bytesPerNs_ = 0;
  if (span == 0) return 0;
  CopyIntoRing(stage_, stageCap_, tail, data_ + (start & mask_), span);
  // The copy is ours: free the kernel ring's space, then publish the records.
  __atomic_store_n(static_cast<uint64_t*>(consumer_), start + span, __ATOMIC_RELEASE);
  stageTouched_ = std::max<uint64_t>(stageTouched_, std::min<uint64_t>(stageCap_, tail + span));
  std::lock_guard<std::mutex> positions(stageMu_);
  stageTail_ = tail + span;
  return span;
}

// ---- JS thread ----

void RingCore::OnAsync(uv_async_t* h) {
  RingCore* c = static_cast<RingCore*>(h->data);
  if (c->closed_) return;
  if (int err = c->error_.exchange(0)) {
    c->DeliverError(err);
    return;
  }
  if (!c->running_) return;  // staged chunks wait for Start()
  // Maybe more: next loop turn. Not if the callback closed the reader: a closing
  // handle started again would keep the loop alive, and be freed while queued.
  if (c->DeliverStaged() > 0 && !c->closed_) uv_idle_start(&c->idle_, OnIdle);
}

void RingCore::OnIdle(uv_idle_t* h) {
  RingCore* c = static_cast<RingCore*>(h->data);
  if (c->closed_ || !c->running_ || c->DeliverStaged() == 0) uv_idle_stop(&c->idle_);
}

size_t RingCore::DeliverStaged() {
  if (closed_ || delivering_) return 0;
  // The lock covers the positions only: copies and V8 allocations (which may
  // collect garbage) run outside it, so the drain thread never waits for JS.
  uint64_t head, tail;
  {
    std::lock_guard<std::mutex> positions(stageMu_);
    head = stageHead_;
    tail = stageTail_;
  }
  size_t avail = static_cast<size_t>(tail - head);
  if (avail == 0) return 0;
  size_t span = avail;
  if (span > kMaxBatch) {
    // Whole records up to the cap (at least one). Headers are 8-byte aligned
    // and the capacity a power of two, so a header never wraps.
    span = 0;
    while (span < avail) {
      uint32_t len;
      memcpy(&len, stage_ + ((head + span) & (stageCap_ - 1)), sizeof(len));
      size_t record = (((len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) + kHeaderSize + 7) & ~size_t(7));
      if (span > 0 && span + record > kMaxBatch) break;
      span += record;
    }
  }
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  try {
    if (span > batchCap_) {
      Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, NextPow2(span));
      batchCap_ = ab.ByteLength();
      batchData_ = static_cast<uint8_t*>(ab.Data());
      batch_ = Napi::Persistent(ab);
    }
  } catch (const Napi::Error& e) {
    ReportOrDrop(e);
    return 0;
  }
  CopyOutOfRing(stage_, stageCap_, head, batchData_, span);
  {
    std::lock_guard<std::mutex> positions(stageMu_);
    stageHead_ = head + span;
  }
  delivering_ = true;
  try {
    // MakeCallback (not Call) so nextTicks and promise jobs run after the batch.
    onBatch_.MakeCallback(env.Global(), {batch_.Value(), Napi::Number::New(env, static_cast<double>(span))},
                          *asyncContext_);
  } catch (const Napi::Error& e) {
    ReportOrDrop(e);
  }
  delivering_ = false;
  return span;
}

void RingCore::ReportOrDrop(const Napi::Error& e) {
  // A worker being terminated can no longer run JS: every call fails, even the one that would
  // make an error object, and its records go with it. Anything else is the handler's own error.
  Napi::Value error = e.Value();
  if (error.IsEmpty() || error.IsUndefined()) {
    Pause();
    return;
  }
  napi_fatal_exception(env_, error);
}

size_t RingCore::Drain() {
  if (closed_ || delivering_) return 0;
  Stage(uv_hrtime());
  size_t total = 0;
  while (size_t n = DeliverStaged()) total += n;
  return total;
}

void RingCore::DeliverError(int err) {
  Pause();
  if (closed_) return;
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  try {
    onBatch_.MakeCallback(env.Global(), {env.Null(), Napi::Number::New(env, err)}, *asyncContext_);
  } catch (const Napi::Error& e) {
    ReportOrDrop(e);
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
