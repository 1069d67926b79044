// BpfObject: one libbpf bpf_object from open to close, plus the links and
// ring readers that depend on it (closed first, in that order).
#pragma once

#include <bpf/libbpf.h>

#include <memory>
#include <set>
#include <vector>

#include "common.h"
#include "ringbuf.h"
#include "tc.h"

namespace probegen {

class RingCore;

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

  void ForgetReader(RingCore* core) { readers_.erase(core); }

 private:
  // object.cc
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value SetMaxEntries(const Napi::CallbackInfo& info);
  Napi::Value SetRodata(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value LoadAsync(const Napi::CallbackInfo& info);
  void FinishLoad(Napi::Env env, int err, const std::string& log, Napi::Promise::Deferred* deferred);
  friend class LoadWorker;
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  Napi::Value AttachSocket(const Napi::CallbackInfo& info);
  Napi::Value DetachSocket(const Napi::CallbackInfo& info);
  Napi::Value XdpMode(const Napi::CallbackInfo& info);
  Napi::Value ProgramInfo(const Napi::CallbackInfo& info);
  Napi::Value OpenRingBuffer(const Napi::CallbackInfo& info);
  WakeFlag WakeFlagOf(bpf_map* ring) const;
  Napi::Value Close(const Napi::CallbackInfo& info);
  // map.cc
  Napi::Value MapLookup(const Napi::CallbackInfo& info);
  Napi::Value MapUpdate(const Napi::CallbackInfo& info);
  Napi::Value MapDelete(const Napi::CallbackInfo& info);
  Napi::Value MapNextKey(const Napi::CallbackInfo& info);
  Napi::Value MapLookupBatch(const Napi::CallbackInfo& info);
  Napi::Value MapDeleteBatch(const Napi::CallbackInfo& info);

  void CloseAll();
  void RequireOpen(Napi::Env env, const char* op) const;
  void RequireLoaded(Napi::Env env, const char* op) const;
  bpf_map* MapArg(const Napi::CallbackInfo& info, const char* op) const;
  bpf_program* FindProgram(const std::string& name) const;
  static void CleanupHook(void* self);

  bpf_object* obj_ = nullptr;
  bool loaded_ = false;
  bool loading_ = false;         // bpf_object__load runs on the thread pool
  bool closeRequested_ = false;  // close() arrived while loading
  std::string name_;
  std::vector<bpf_map*> maps_;          // index order is what JS sees
  std::vector<bpf_link*> links_;        // null once detached (and for map attachments)
  // Programs attached to a map with BPF_PROG_ATTACH (sk_msg to its sockmap), which has no
  // bpf_link in this libbpf: detached with bpf_prog_detach2, before the object closes their fds.
  struct MapAttachment {
    size_t link;  // its index in links_, which holds null for it
    int prog;
    int map;
    bpf_attach_type type;
    bpf_map* socks;  // the sockmap or sockhash: emptied at detach
  };
  std::vector<MapAttachment> mapAttachments_;
  void DetachFromMaps();
  std::vector<std::unique_ptr<TcAttachment>> tcs_;  // tc programs, which libbpf 1.1 gives no bpf_link
  std::set<RingCore*> readers_;
  napi_env env_ = nullptr;
};

// Byte view of a Uint8Array / Buffer argument; throws TypeError otherwise.
struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};
Bytes BytesArg(const Napi::CallbackInfo& info, size_t index, const char* what);

}  // namespace probegen
