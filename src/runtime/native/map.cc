// Synchronous map operations on a loaded object's map fds. Sizes are checked
// here because the kernel writes value_size bytes into the caller's buffer.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>

#include "object.h"

namespace probegen {

namespace {

bool IsPerCpu(bpf_map* m) {
  switch (bpf_map__type(m)) {
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return true;
    default:
      return false;
  }
}

// Per-CPU maps exchange one 8-byte-aligned slot per possible CPU.
size_t ValueBytes(bpf_map* m) {
  size_t v = bpf_map__value_size(m);
  if (!IsPerCpu(m)) return v;
  return ((v + 7) & ~size_t(7)) * libbpf_num_possible_cpus();
}

void CheckSize(const Napi::CallbackInfo& info, bpf_map* m, const Bytes& b, size_t want, const char* what,
               const char* op) {
  if (b.length != want) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + what + " for map '" + bpf_map__name(m) + "' must be " +
                                                std::to_string(want) + " bytes, got " + std::to_string(b.length));
  }
}

std::string MapMessage(const char* verb, bpf_map* m) { return std::string(verb) + " in map '" + bpf_map__name(m) + "' failed"; }

Napi::Object MapExtra(Napi::Env env, bpf_map* m) {
  Napi::Object extra = Napi::Object::New(env);
  extra.Set("map", bpf_map__name(m));
  return extra;
}

}  // namespace

// mapLookup(index, key, value) -> found
Napi::Value BpfObject::MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env, "map.lookup");
  bpf_map* m = MapArg(info, "map.lookup");
  Bytes key = BytesArg(info, 1, "key");
  Bytes value = BytesArg(info, 2, "value");
  CheckSize(info, m, key, bpf_map__key_size(m), "key", "map.lookup");
  CheckSize(info, m, value, ValueBytes(m), "value", "map.lookup");
  if (bpf_map_lookup_elem(bpf_map__fd(m), key.data, value.data) == 0) return Napi::Boolean::New(env, true);
  int err = errno;
  if (err == ENOENT) return Napi::Boolean::New(env, false);
  ThrowBpf(env, "map.lookup", err, MapMessage("lookup", m), MapExtra(env, m));
}

// mapUpdate(index, key, value, flags)
Napi::Value BpfObject::MapUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env, "map.update");
  bpf_map* m = MapArg(info, "map.update");
  Bytes key = BytesArg(info, 1, "key");
  Bytes value = BytesArg(info, 2, "value");
  CheckSize(info, m, key, bpf_map__key_size(m), "key", "map.update");
  CheckSize(info, m, value, ValueBytes(m), "value", "map.update");
  uint64_t flags = info[3].IsNumber() ? info[3].As<Napi::Number>().Int64Value() : static_cast<uint64_t>(BPF_ANY);
  if (bpf_map_update_elem(bpf_map__fd(m), key.data, value.data, flags) == 0) return env.Undefined();
  int err = errno;
  Napi::Object extra = MapExtra(env, m);
  extra.Set("flags", Napi::Number::New(env, static_cast<double>(flags)));
  ThrowBpf(env, "map.update", err, MapMessage("update", m), extra);
}

// mapDelete(index, key) -> existed
Napi::Value BpfObject::MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env, "map.delete");
  bpf_map* m = MapArg(info, "map.delete");
  Bytes key = BytesArg(info, 1, "key");
  CheckSize(info, m, key, bpf_map__key_size(m), "key", "map.delete");
  if (bpf_map_delete_elem(bpf_map__fd(m), key.data) == 0) return Napi::Boolean::New(env, true);
  int err = errno;
  if (err == ENOENT) return Napi::Boolean::New(env, false);
  ThrowBpf(env, "map.delete", err, MapMessage("delete", m), MapExtra(env, m));
}

// mapNextKey(index, key | null, next) -> has next
Napi::Value BpfObject::MapNextKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireLoaded(env, "map.nextKey");
  bpf_map* m = MapArg(info, "map.nextKey");
  const void* cur = nullptr;
  if (!info[1].IsNull() && !info[1].IsUndefined()) {
    Bytes key = BytesArg(info, 1, "key");
    CheckSize(info, m, key, bpf_map__key_size(m), "key", "map.nextKey");
    cur = key.data;
  }
  Bytes next = BytesArg(info, 2, "next key");
  CheckSize(info, m, next, bpf_map__key_size(m), "next key", "map.nextKey");
  if (bpf_map_get_next_key(bpf_map__fd(m), cur, next.data) == 0) return Napi::Boolean::New(env, true);
  int err = errno;
  if (err == ENOENT) return Napi::Boolean::New(env, false);
  ThrowBpf(env, "map.nextKey", err, MapMessage("get_next_key", m), MapExtra(env, m));
}

}  // namespace probegen
