// Opening, configuring, loading and attaching one BPF object.
#include "object.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "perf_event.h"
#include "ringbuf.h"

namespace probegen {

Bytes BytesArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Uint8Array");
  }
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return Bytes{a.Data(), a.ByteLength()};
}

static std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (!info[index].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[index].As<Napi::String>().Utf8Value();
}

static Napi::Object Extra(Napi::Env env, const std::string& libbpfLog) {
  Napi::Object extra = Napi::Object::New(env);
  if (!libbpfLog.empty()) extra.Set("libbpfLog", libbpfLog);
  return extra;
}

Napi::Function BpfObject::Define(Napi::Env env) {
  return DefineClass(env, "BpfObject",
                     {
                         InstanceMethod<&BpfObject::Programs>("programs"),
                         InstanceMethod<&BpfObject::Maps>("maps"),
                         InstanceMethod<&BpfObject::SetMaxEntries>("setMaxEntries"),
                         InstanceMethod<&BpfObject::SetRodata>("setRodata"),
                         InstanceMethod<&BpfObject::Load>("load"),
                         InstanceMethod<&BpfObject::LoadAsync>("loadAsync"),
                         InstanceMethod<&BpfObject::Attach>("attach"),
                         InstanceMethod<&BpfObject::Detach>("detach"),
                         InstanceMethod<&BpfObject::AttachSocket>("attachSocket"),
                         InstanceMethod<&BpfObject::DetachSocket>("detachSocket"),
                         InstanceMethod<&BpfObject::XdpMode>("xdpMode"),
                         InstanceMethod<&BpfObject::ProgramInfo>("programInfo"),
                         InstanceMethod<&BpfObject::OpenRingBuffer>("openRingBuffer"),
                         InstanceMethod<&BpfObject::Close>("close"),
                         InstanceMethod<&BpfObject::MapLookup>("mapLookup"),
                         InstanceMethod<&BpfObject::MapUpdate>("mapUpdate"),
                         InstanceMethod<&BpfObject::MapDelete>("mapDelete"),
                         InstanceMethod<&BpfObject::MapNextKey>("mapNextKey"),
                         InstanceMethod<&BpfObject::MapLookupBatch>("mapLookupBatch"),
                         InstanceMethod<&BpfObject::MapDeleteBatch>("mapDeleteBatch"),
                     });
}

// new BpfObject(bytes: Uint8Array, name: string, pinRoot?: string)
// pinRoot: the directory pinned maps (LIBBPF_PIN_BY_NAME) live in, instead of libbpf's /sys/fs/bpf.
BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  Napi::Env env = info.Env();
  Bytes bytes = BytesArg(info, 0, "object bytes");
  name_ = StringArg(info, 1, "object name");
  std::string pinRoot = info[2].IsUndefined() ? "" : StringArg(info, 2, "pin root");
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name_.c_str(),
              .pin_root_path = pinRoot.empty() ? nullptr : pinRoot.c_str());
  LibbpfLogCapture capture;
  // libbpf copies the ELF image, so the JS buffer may move or die afterwards.
  bpf_object* obj = bpf_object__open_mem(bytes.data, bytes.length, &opts);
  int err = libbpf_get_error(obj);
  if (err) ThrowBpf(env, "open", err, "cannot open BPF object '" + name_ + "'", Extra(env, capture.text()));
  obj_ = obj;
  bpf_map* map;
  bpf_object__for_each_map(map, obj_) maps_.push_back(map);
  env_ = env;
  napi_add_env_cleanup_hook(env_, CleanupHook, this);
}

BpfObject::~BpfObject() {
  if (env_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
  CloseAll();
}

void BpfObject::CleanupHook(void* self) {
  auto* o = static_cast<BpfObject*>(self);
  o->env_ = nullptr;  // the hook is consumed
  // A load still running on the thread pool owns obj_; its fds then live
  // until the process exits rather than racing it here.
  if (!o->loading_) o->CloseAll();
}

// Detaching a tracepoint link waits for the kernel (an RCU grace period, tens of
// milliseconds), one link after another: 360 sys_enter_* links took 16 s. Links are
// independent, so several threads destroy them at once and their waits overlap: a
// thread per link up to 32 (a thread costs microseconds, a wait ~45 ms; 10 links took
// ~480 ms one after another).
static void DestroyLinks(std::vector<bpf_link*>& links) {
  constexpr size_t kMaxThreads = 32;
  size_t threads = std::min(kMaxThreads, links.size());
  auto destroy = [&links](size_t first, size_t stride) {
    for (size_t i = first; i < links.size(); i += stride) {
      if (links[i]) bpf_link__destroy(links[i]);
      links[i] = nullptr;
    }
  };
  if (threads < 2) return destroy(0, 1);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; t++) pool.emplace_back(destroy, t, threads);
  for (std::thread& t : pool) t.join();
}

void BpfObject::CloseAll() {
  // Readers first: their poll handles watch map fds that the object owns.
  std::set<RingCore*> readers;
  readers.swap(readers_);
  for (RingCore* r : readers) r->Close();
  DestroyLinks(links_);
  for (auto& tc : tcs_) tc->Detach();
  tcs_.clear();
  DetachFromMaps();
  if (obj_) bpf_object__close(obj_);
  obj_ = nullptr;
  maps_.clear();
}

void BpfObject::RequireOpen(Napi::Env env, const char* op) const {
  if (!obj_ || closeRequested_) ThrowBpf(env, op, EBADF, "BPF object '" + name_ + "' is closed");
  if (loading_) ThrowBpf(env, op, EBUSY, "BPF object '" + name_ + "' is still being loaded");
}

void BpfObject::RequireLoaded(Napi::Env env, const char* op) const {
  RequireOpen(env, op);
  if (!loaded_) ThrowBpf(env, op, EINVAL, "BPF object '" + name_ + "' is not loaded yet");
}

bpf_program* BpfObject::FindProgram(const std::string& name) const {
  return bpf_object__find_program_by_name(obj_, name.c_str());
}

bpf_map* BpfObject::MapArg(const Napi::CallbackInfo& info, const char* op) const {
  RequireOpen(info.Env(), op);
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(op) + ": map index must be a number");
  uint32_t i = info[0].As<Napi::Number>().Uint32Value();
  if (i >= maps_.size()) throw Napi::RangeError::New(info.Env(), std::string(op) + ": no map at index " + std::to_string(i));
  return maps_[i];
}

Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "programs");
  Napi::Array out = Napi::Array::New(env);
  bpf_program* p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, obj_) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(p));
    o.Set("section", bpf_program__section_name(p));
    const char* type = libbpf_bpf_prog_type_str(bpf_program__type(p));
    o.Set("type", type ? type : "unknown");
    out.Set(i++, o);
  }
  return out;
}

Napi::Value BpfObject::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "maps");
  Napi::Array out = Napi::Array::New(env, maps_.size());
  for (uint32_t i = 0; i < maps_.size(); i++) {
    bpf_map* m = maps_[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_map__name(m));
    const char* type = libbpf_bpf_map_type_str(bpf_map__type(m));
    o.Set("type", type ? type : "unknown");
    o.Set("keySize", bpf_map__key_size(m));
    o.Set("valueSize", bpf_map__value_size(m));
    o.Set("maxEntries", bpf_map__max_entries(m));
    o.Set("flags", bpf_map__map_flags(m));
    const char* pin = bpf_map__pin_path(m);
    o.Set("pinPath", pin ? Napi::Value(Napi::String::New(env, pin)) : env.Null());
    o.Set("fd", loaded_ ? bpf_map__fd(m) : -1);
    out.Set(i, o);
  }
  return out;
}

// setMaxEntries(mapName, n): before load only.
Napi::Value BpfObject::SetMaxEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "setMaxEntries");
  std::string name = StringArg(info, 0, "map name");
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "max entries must be a number");
  bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
  if (!m) ThrowBpf(env, "map.resize", ENOENT, "object '" + name_ + "' has no map named '" + name + "'");
  int err = bpf_map__set_max_entries(m, info[1].As<Napi::Number>().Uint32Value());
  if (err) ThrowBpf(env, "map.resize", err, "cannot set max_entries of map '" + name + "'");
  return env.Undefined();
}

// setRodata(bytes): initial value of the .rodata map (runtime parameters).
Napi::Value BpfObject::SetRodata(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "setRodata");
  Bytes bytes = BytesArg(info, 0, "rodata");
  bpf_map* m = bpf_object__find_map_by_name(obj_, ".rodata");
  if (!m) ThrowBpf(env, "rodata", ENOENT, "object '" + name_ + "' has no .rodata section (no const volatile parameters)");
  size_t have = 0;
  bpf_map__initial_value(m, &have);
  if (have != bytes.length) {
    ThrowBpf(env, "rodata", EINVAL,
             ".rodata of '" + name_ + "' is " + std::to_string(have) + " bytes but " + std::to_string(bytes.length) +
                 " bytes were given");
  }
  int err = bpf_map__set_initial_value(m, bytes.data, bytes.length);
  if (err) ThrowBpf(env, "rodata", err, "cannot set .rodata of '" + name_ + "'");
  return env.Undefined();
}

// load(): creates maps and verifies programs. On failure the error carries
// libbpf's messages, including each rejected program's verifier log.
Napi::Value BpfObject::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "load");
  if (loaded_) ThrowBpf(env, "load", EINVAL, "BPF object '" + name_ + "' is already loaded");
  LibbpfLogCapture capture;
  int err = bpf_object__load(obj_);
  if (err) ThrowBpf(env, "load", err, "cannot load BPF object '" + name_ + "'", Extra(env, capture.text()));
  loaded_ = true;
  return env.Undefined();
}

// Verification can take a while for big programs, so loadAsync() runs
// bpf_object__load on the thread pool; the object refuses other calls meanwhile.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(BpfObject* o, Napi::Promise::Deferred deferred)
      : Napi::AsyncWorker(o->Env(), "probegen.load"),
        object_(o),
        keepAlive_(Napi::Persistent(o->Value())),
        deferred_(deferred),
        obj_(o->obj_) {}

  void Execute() override {
    LibbpfLogCapture capture;  // thread-local: captures this thread's libbpf output
    err_ = bpf_object__load(obj_);
    log_ = capture.text();
  }
  void OnOK() override { object_->FinishLoad(Env(), err_, log_, &deferred_); }

 private:
  BpfObject* object_;
  Napi::ObjectReference keepAlive_;  // no GC of the object while the thread pool uses it
  Napi::Promise::Deferred deferred_;
  bpf_object* obj_;
  int err_ = 0;
  std::string log_;
};

Napi::Value BpfObject::LoadAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireOpen(env, "load");
  if (loaded_) ThrowBpf(env, "load", EINVAL, "BPF object '" + name_ + "' is already loaded");
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  loading_ = true;
  (new LoadWorker(this, deferred))->Queue();  // the worker keeps this object alive
  return deferred.Promise();
}

void BpfObject::FinishLoad(Napi::Env env, int err, const std::string& log, Napi::Promise::Deferred* deferred) {
  loading_ = false;
  if (closeRequested_) {
    CloseAll();
    deferred->Reject(MakeBpfError(env, "load", EBADF, "BPF object '" + name_ + "' was closed while loading"));
    return;
  }
  if (err) {
    deferred->Reject(MakeBpfError(env, "load", err, "cannot load BPF object '" + name_ + "'", Extra(env, log)));
    return;
  }
  loaded_ = true;
  deferred->Resolve(env.Undefined());
}

static std::string StringField(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(env, std::string("attach target: '") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// The loader's typed attach descriptor (AttachTarget in object.ts), attached with the libbpf
// call for its kind. `where` names the target for errors.
static bpf_link* AttachTo(Napi::Env env, bpf_program* p, const Napi::Object& target, std::string* where) {
  std::string kind = StringField(env, target, "kind");
  if (kind == "tracepoint") {
    std::string category = StringField(env, target, "category");
    std::string name = StringField(env, target, "name");
    *where = "tracepoint/" + category + "/" + name;
    return bpf_program__attach_tracepoint(p, category.c_str(), name.c_str());
  }
  if (kind == "kprobe") {
    std::string function = StringField(env, target, "function");
    bool retprobe = target.Get("retprobe").ToBoolean();
    *where = (retprobe ? "kretprobe/" : "kprobe/") + function;
    return bpf_program__attach_kprobe(p, retprobe, function.c_str());
  }
  if (kind == "raw_tracepoint") {
    std::string name = StringField(env, target, "name");
    *where = "raw_tracepoint/" + name;
    return bpf_program__attach_raw_tracepoint(p, name.c_str());
  }
  if (kind == "trace") {
    *where = bpf_program__section_name(p);
    return bpf_program__attach_trace(p);
  }
  if (kind == "cgroup_skb") {
    std::string cgroup = StringField(env, target, "cgroup");
    *where = "cgroup_skb/" + StringField(env, target, "direction") + " on " + cgroup;
    int fd = open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return nullptr;  // errno says why
    bpf_link* link = bpf_program__attach_cgroup(p, fd);
    int err = errno;
    close(fd);  // the link holds the cgroup
    errno = err;
    return link;
  }
  if (kind == "uprobe") {
    // Resolved in JS (runtime/uprobe.ts): the file found, the function's file offset, the pid (-1: all).
    std::string binary = StringField(env, target, "binary");
    std::string symbol = StringField(env, target, "symbol");
    Napi::Value offset = target.Get("fileOffset");
    Napi::Value pid = target.Get("pid");
    if (!offset.IsNumber() || !pid.IsNumber()) throw Napi::TypeError::New(env, "attach target: 'fileOffset' and 'pid' must be numbers");
    bool retprobe = target.Get("retprobe").ToBoolean();
    *where = std::string(retprobe ? "uretprobe" : "uprobe") + " on " + symbol + " in " + binary;
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
    return bpf_program__attach_uprobe_opts(p, pid.As<Napi::Number>().Int32Value(), binary.c_str(),
                                           static_cast<size_t>(offset.As<Napi::Number>().Int64Value()), &opts);
  }
  if (kind == "xdp") {
    Napi::Value v = target.Get("ifindex");
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "attach target: 'ifindex' must be a number");
    int ifindex = v.As<Napi::Number>().Int32Value();
    *where = "xdp on interface index " + std::to_string(ifindex);
    // A bpf_link: the kernel picks driver mode where the driver has it, generic (skb) mode otherwise.
    return bpf_program__attach_xdp(p, ifindex);
  }
  if (kind == "usdt") {
    std::string path = StringField(env, target, "path");
    std::string provider = StringField(env, target, "provider");
    std::string name = StringField(env, target, "name");
    Napi::Value pid = target.Get("pid");
    if (!pid.IsUndefined() && !pid.IsNumber()) throw Napi::TypeError::New(env, "attach target: 'pid' must be a number");
    *where = "usdt/" + path + ":" + provider + ":" + name;
    // Every site of the probe, its semaphore (if any) counted up while the link lives; -1: every process.
    return bpf_program__attach_usdt(p, pid.IsNumber() ? pid.As<Napi::Number>().Int32Value() : -1, path.c_str(), provider.c_str(), name.c_str(), nullptr);
  }
  throw Napi::TypeError::New(env, "attach target: unknown kind '" + kind + "'");
}

// A socket keeps the programs its map had when it was added, until it leaves the map (or the
// map is freed, which the kernel defers): detaching alone would leave the sockets in the map
// running the program after close. So every socket is taken out too.
static void EmptySocketMap(bpf_map* m) {
  int fd = bpf_map__fd(m);
  std::vector<uint8_t> key(bpf_map__key_size(m));
  if (bpf_map__type(m) == BPF_MAP_TYPE_SOCKMAP) {
    // An array of sockets: every index, empty or not.
    for (uint32_t i = 0; i < bpf_map__max_entries(m); i++) bpf_map_delete_elem(fd, &i);
    return;
  }
  // Each delete restarts the walk from the first key: at most one pass per entry.
  for (uint32_t n = 0; n < bpf_map__max_entries(m) && bpf_map_get_next_key(fd, nullptr, key.data()) == 0; n++) {
    bpf_map_delete_elem(fd, key.data());
  }
}

static void DetachFromMap(int prog, int map, bpf_attach_type type, bpf_map* socks) {
  bpf_prog_detach2(prog, map, type);
  EmptySocketMap(socks);
}

void BpfObject::DetachFromMaps() {
  for (const MapAttachment& a : mapAttachments_) DetachFromMap(a.prog, a.map, a.type, a.socks);
  mapAttachments_.clear();
}

// sk_msg: the program becomes the verdict of every message its map's sockets send. Returns
// 0 or an errno; `where` names the target for errors.
static int AttachToMap(Napi::Env env, bpf_object* obj, bpf_program* p, const Napi::Object& target, std::string* where, bpf_map** socks) {
  std::string map = StringField(env, target, "map");
  *where = "sk_msg/" + map;
  *socks = bpf_object__find_map_by_name(obj, map.c_str());
  if (!*socks) return ENOENT;
  return bpf_prog_attach(bpf_program__fd(p), bpf_map__fd(*socks), BPF_SK_MSG_VERDICT, 0) ? errno : 0;
}

// profile/HZ, interval/MS: the clock on each CPU the target lists (`cpuList`, the online ones
// the runtime chose). Returns how many CPUs it attached on; `fail(errno, where)` throws.
template <typename Fail>
static int AttachToPerfClock(Napi::Env env, bpf_program* p, const Napi::Object& target, std::vector<bpf_link*>* links, Fail fail) {
  PerfClock clock;
  Napi::Value frequency = target.Get("frequency");
  Napi::Value period = target.Get("periodNs");
  if (frequency.IsNumber()) clock.frequency = frequency.As<Napi::Number>().Int64Value();
  else if (period.IsNumber()) clock.periodNs = period.As<Napi::Number>().Int64Value();
  else throw Napi::TypeError::New(env, "attach target: a perf_event needs 'frequency' or 'periodNs'");
  Napi::Value list = target.Get("cpuList");
  if (!list.IsArray()) throw Napi::TypeError::New(env, "attach target: 'cpuList' must be an array of CPU numbers");
  std::vector<int> cpus;
  Napi::Array array = list.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) cpus.push_back(array.Get(i).As<Napi::Number>().Int32Value());
  std::string what = clock.frequency ? "a " + std::to_string(clock.frequency) + " Hz CPU clock"
                                     : "a CPU clock every " + std::to_string(clock.periodNs) + " ns";
  int failedCpu = -1;
  int err = AttachPerfClock(p, clock, cpus, links, &failedCpu);
  if (err) fail(err, what + " on CPU " + std::to_string(failedCpu));
  return static_cast<int>(cpus.size());
}

// attach(programName, target?) -> link index. Without a target, libbpf attaches by SEC().
Napi::Value BpfObject::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env, "attach");
  std::string prog = StringArg(info, 0, "program name");
  if (!info[1].IsUndefined() && !info[1].IsObject()) throw Napi::TypeError::New(env, "attach target must be an object");
  bpf_program* p = FindProgram(prog);
  if (!p) ThrowBpf(env, "attach", ENOENT, "object '" + name_ + "' has no program named '" + prog + "'");
  LibbpfLogCapture capture;
  auto fail = [&](int err, const std::string& where) {
    Napi::Object extra = Extra(env, capture.text());
    extra.Set("program", prog);
    ThrowBpf(env, "attach", err, "cannot attach program '" + prog + "' to '" + where + "'", extra);
  };
  Napi::Object attached = Napi::Object::New(env);
  if (info[1].IsObject() && StringField(env, info[1].As<Napi::Object>(), "kind") == "sk_msg") {
    std::string where;
    bpf_map* socks = nullptr;
    int err = AttachToMap(env, obj_, p, info[1].As<Napi::Object>(), &where, &socks);
    if (err) fail(err, where);
    links_.push_back(nullptr);
    mapAttachments_.push_back({links_.size() - 1, bpf_program__fd(p), bpf_map__fd(socks), BPF_SK_MSG_VERDICT, socks});
    attached.Set("mode", "map");
    return attached;
  }
  if (info[1].IsObject() && StringField(env, info[1].As<Napi::Object>(), "kind") == "tc") {
    Napi::Object target = info[1].As<Napi::Object>();
    std::string direction = StringField(env, target, "direction");
    Napi::Value v = target.Get("ifindex");
    if (!v.IsNumber()) throw Napi::TypeError::New(env, "attach target: 'ifindex' must be a number");
    int ifindex = v.As<Napi::Number>().Int32Value();
    std::string where = "tc/" + direction + " on interface index " + std::to_string(ifindex);
    auto tc = std::make_unique<TcAttachment>();
    int err = tc->Attach(bpf_program__fd(p), ifindex, direction == "ingress", StringField(env, target, "mode"));
    if (err) fail(err, where);
    attached.Set("mode", tc->mode());
    tcs_.push_back(std::move(tc));
    return attached;
  }
  if (info[1].IsObject() && StringField(env, info[1].As<Napi::Object>(), "kind") == "perf_event") {
    int cpus = AttachToPerfClock(env, p, info[1].As<Napi::Object>(), &links_, fail);
    attached.Set("mode", "link");
    attached.Set("cpus", cpus);
    return attached;
  }
  errno = 0;
  std::string where = bpf_program__section_name(p);
  bpf_link* link = info[1].IsObject() ? AttachTo(env, p, info[1].As<Napi::Object>(), &where) : bpf_program__attach(p);
  if (!link) fail(errno ? errno : EINVAL, where);
  links_.push_back(link);
  attached.Set("mode", "link");
  return attached;
}

// attachSocket(programName, fd): the program as the socket's filter (SO_ATTACH_BPF, replacing
// any filter it had). The socket keeps the program until detachSocket(fd) or until it closes.
Napi::Value BpfObject::AttachSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env, "attachSocket");
  std::string prog = StringArg(info, 0, "program name");
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "attachSocket: the socket's fd must be a number");
  int fd = info[1].As<Napi::Number>().Int32Value();
  bpf_program* p = FindProgram(prog);
  if (!p) ThrowBpf(env, "attachSocket", ENOENT, "object '" + name_ + "' has no program named '" + prog + "'");
  int progFd = bpf_program__fd(p);
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &progFd, sizeof progFd)) {
    Napi::Object extra = Napi::Object::New(env);
    extra.Set("program", prog);
    ThrowBpf(env, "attachSocket", errno, "cannot attach program '" + prog + "' to socket fd " + std::to_string(fd), extra);
  }
  return env.Undefined();
}

// detachSocket(fd): removes the socket's filter (SO_DETACH_BPF); one already gone is no error.
Napi::Value BpfObject::DetachSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "detachSocket: the socket's fd must be a number");
  int fd = info[0].As<Napi::Number>().Int32Value();
  int none = 0;
  if (setsockopt(fd, SOL_SOCKET, SO_DETACH_BPF, &none, sizeof none) && errno != ENOENT) {
    ThrowBpf(env, "detachSocket", errno, "cannot detach the filter of socket fd " + std::to_string(fd));
  }
  return env.Undefined();
}

// xdpMode(ifindex) -> XDP_ATTACHED_* of the program on the interface (0: none), as the kernel reports it.
Napi::Value BpfObject::XdpMode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "xdpMode: ifindex must be a number");
  int ifindex = info[0].As<Napi::Number>().Int32Value();
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  int err = bpf_xdp_query(ifindex, 0, &opts);
  if (err) ThrowBpf(env, "xdp.query", -err, "cannot query the XDP program of interface index " + std::to_string(ifindex));
  return Napi::Number::New(env, opts.attach_mode);
}

Napi::Value BpfObject::Detach(const Napi::CallbackInfo& info) {
  uint32_t i = info[0].As<Napi::Number>().Uint32Value();
  if (i < links_.size() && links_[i]) {
    bpf_link__destroy(links_[i]);
    links_[i] = nullptr;
  }
  auto a = std::find_if(mapAttachments_.begin(), mapAttachments_.end(), [i](const MapAttachment& m) { return m.link == i; });
  if (a != mapAttachments_.end()) {
    DetachFromMap(a->prog, a->map, a->type, a->socks);
    mapAttachments_.erase(a);
  }
  return info.Env().Undefined();
}

// programInfo(): kernel-side facts about each loaded program. run_cnt and
// run_time_ns stay 0 unless kernel.bpf_stats_enabled=1.
Napi::Value BpfObject::ProgramInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env, "programInfo");
  Napi::Array out = Napi::Array::New(env);
  bpf_program* p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, obj_) {
    int fd = bpf_program__fd(p);
    if (fd < 0) continue;
    bpf_prog_info pi;
    memset(&pi, 0, sizeof pi);
    uint32_t len = sizeof pi;
    int err = bpf_obj_get_info_by_fd(fd, &pi, &len);
    if (err) ThrowBpf(env, "programInfo", err, std::string("cannot read info of program '") + bpf_program__name(p) + "'");
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(p));
    o.Set("fd", fd);
    o.Set("id", pi.id);
    o.Set("runCount", Napi::BigInt::New(env, static_cast<uint64_t>(pi.run_cnt)));
    o.Set("runTimeNs", Napi::BigInt::New(env, static_cast<uint64_t>(pi.run_time_ns)));
    o.Set("xlatedInsns", pi.xlated_prog_len / 8);
    o.Set("jitedBytes", pi.jited_prog_len);
    out.Set(i++, o);
  }
  return out;
}

// The ring's flag in the generated programs' `pg_wake` array (section ".data.pg_wake": one
// u32 per ring buffer, in the order the rings are declared, which is libbpf's map order):
// where the reader says it sleeps. None for objects without the array (built by hand, or
// by probegen before the reader slept): their readers never sleep.
WakeFlag BpfObject::WakeFlagOf(bpf_map* ring) const {
  bpf_map* flags = nullptr;
  uint32_t ordinal = 0;
  bool seen = false;
  bpf_map* m;
  bpf_object__for_each_map(m, obj_) {
    if (strcmp(bpf_map__name(m), kWakeMap) == 0) flags = m;
    if (m == ring) seen = true;
    if (!seen && bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF) ordinal++;
  }
  if (!flags || bpf_map__type(flags) != BPF_MAP_TYPE_ARRAY || !(bpf_map__map_flags(flags) & BPF_F_MMAPABLE) ||
      (ordinal + 1) * sizeof(uint32_t) > bpf_map__value_size(flags)) {
    return {};
  }
  return {bpf_map__fd(flags), ordinal * sizeof(uint32_t), bpf_map__value_size(flags)};
}

// openRingBuffer(mapIndex, onBatch, drainIntervalMs, stagingBytes) -> RingReader
Napi::Value BpfObject::OpenRingBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env, "ringBuffer");
  bpf_map* m = MapArg(info, "ringBuffer");
  if (bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF) {
    ThrowBpf(env, "ringBuffer", EINVAL, std::string("map '") + bpf_map__name(m) + "' is not a ring buffer");
  }
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "ringBuffer: onBatch must be a function");
  // libuv allows one poll handle per fd, and two readers would split the records anyway.
  for (RingCore* r : readers_) {
    if (r->fd() == bpf_map__fd(m)) {
      ThrowBpf(env, "ringBuffer", EBUSY,
               std::string("ring buffer '") + bpf_map__name(m) +
                   "' already has an open reader; share its stream (it takes many listeners) or close it first");
    }
  }
  uint32_t interval = info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 1;
  // 0: the reader's default; the JS layer checks the range (a power of two, >= 64 KiB).
  size_t staging = info[3].IsNumber() ? static_cast<size_t>(info[3].As<Napi::Number>().Int64Value()) : 0;
  RingCore* core = RingCore::Open(env, bpf_map__fd(m), bpf_map__max_entries(m), info[1].As<Napi::Function>(), interval,
                                  staging, this, WakeFlagOf(m));
  readers_.insert(core);
  return RingReader::Wrap(env, core);
}

Napi::Value BpfObject::Close(const Napi::CallbackInfo& info) {
  if (loading_) {
    closeRequested_ = true;  // FinishLoad closes once the thread pool is done with obj_
    return info.Env().Undefined();
  }
  CloseAll();
  return info.Env().Undefined();
}

// pinnedMapInfo(path): what the map pinned at `path` is, or null when nothing is pinned there;
// checked against a map before libbpf reuses the pin, to say what differs.
static Napi::Value PinnedMapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "pin path");
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return env.Null();
    ThrowBpf(env, "map.pin", -err, "cannot open the pinned map at " + path);
  }
  bpf_map_info mi = {};
  uint32_t len = sizeof(mi);
  int err = bpf_obj_get_info_by_fd(fd, &mi, &len);
  close(fd);
  if (err) ThrowBpf(env, "map.pin", err, path + " is pinned but is not a map the kernel describes");
  Napi::Object o = Napi::Object::New(env);
  const char* type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(mi.type));
  o.Set("type", type ? type : "unknown");
  o.Set("keySize", mi.key_size);
  o.Set("valueSize", mi.value_size);
  o.Set("maxEntries", mi.max_entries);
  o.Set("flags", mi.map_flags);
  return o;
}

Napi::Object InitObject(Napi::Env env, Napi::Object exports) {
  exports.Set("BpfObject", BpfObject::Define(env));
  exports.Set("pinnedMapInfo", Napi::Function::New<PinnedMapInfo>(env, "pinnedMapInfo"));
  return exports;
}

}  // namespace probegen
