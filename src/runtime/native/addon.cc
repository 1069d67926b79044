// Entry point of probegen_native.node.
#include <bpf/libbpf.h>

#include <string>

#include "common.h"

namespace probegen {

AddonData* GetAddonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  InitErrors(env, exports);
  InitObject(env, exports);
  InitRingReader(env, exports);
  InitClock(env, exports);
  std::string version = std::to_string(libbpf_major_version()) + "." + std::to_string(libbpf_minor_version());
  exports.Set("libbpfVersion", Napi::String::New(env, version));
  return exports;
}

}  // namespace probegen

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return probegen::Init(env, exports); }

NODE_API_MODULE(probegen_native, InitAddon)
