// Synchronous map operations on a loaded object's map fds. Sizes are checked
// here because the kernel writes value_size bytes into the caller's buffer.
#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
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


// Batch operations. Counts come from the buffer lengths (keys.length / key_size),
// so the kernel can never write past a buffer; JS passes subarrays for fewer.

// The opaque in_batch/out_batch token: a key for the generic (get_next_key
// based) implementation, a u32 bucket index for hash maps.
size_t TokenBytes(bpf_map* m) { return std::max<size_t>(bpf_map__key_size(m), 4); }

uint32_t BatchCount(const Napi::CallbackInfo& info, bpf_map* m, const Bytes& keys, const char* op) {
  size_t ks = bpf_map__key_size(m);
  if (keys.length == 0 || keys.length % ks != 0 || keys.length / ks > UINT32_MAX) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": keys for map '" + bpf_map__name(m) +
                                                "' must be a non-empty multiple of " + std::to_string(ks) +
                                                " bytes, got " + std::to_string(keys.length));
  }
  return static_cast<uint32_t>(keys.length / ks);
}

void CheckToken(const Napi::CallbackInfo& info, bpf_map* m, const Bytes& b, const char* what, const char* op) {
  if (b.length < TokenBytes(m)) {
    throw Napi::RangeError::New(info.Env(), std::string(op) + ": " + what + " for map '" + bpf_map__name(m) +
                                                "' must be at least " + std::to_string(TokenBytes(m)) + " bytes, got " +
                                                std::to_string(b.length));
  }
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

// mapLookupBatch(index, inBatch | null, outBatch, keys, values) -> { count, done }
// One BPF_MAP_LOOKUP_BATCH: up to keys.length / key_size entries. `done` is the
// kernel's ENOENT (no more entries); the `count` entries read before it are valid.
// Other errors (EINVAL/ENOTSUPP when the kernel or map type has no batch lookup,
// ENOSPC when a hash bucket does not fit in the buffers) throw BpfError.
Napi::Value BpfObject::MapLookupBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "map.lookupBatch";
  RequireLoaded(env, op);
  bpf_map* m = MapArg(info, op);
  void* in = nullptr;
  if (!info[1].IsNull() && !info[1].IsUndefined()) {
    Bytes inBatch = BytesArg(info, 1, "in batch");
    CheckToken(info, m, inBatch, "in batch", op);
    in = inBatch.data;
  }
  Bytes outBatch = BytesArg(info, 2, "out batch");
  CheckToken(info, m, outBatch, "out batch", op);
  Bytes keys = BytesArg(info, 3, "keys");
  Bytes values = BytesArg(info, 4, "values");
  uint32_t count = BatchCount(info, m, keys, op);
  CheckSize(info, m, values, ValueBytes(m) * count, "values", op);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int err = 0;
  if (bpf_map_lookup_batch(bpf_map__fd(m), in, outBatch.data, keys.data, values.data, &count, &opts) != 0) {
    err = errno;
    if (err != ENOENT) ThrowBpf(env, op, err, MapMessage("batch lookup", m), MapExtra(env, m));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("count", Napi::Number::New(env, count));
  out.Set("done", Napi::Boolean::New(env, err == ENOENT));
  return out;
}

// mapDeleteBatch(index, keys) -> deleted
// One BPF_MAP_DELETE_BATCH over keys.length / key_size keys, in order. The kernel
// stops at the first failure; a return value below the key count means the key
// at that position was absent (ENOENT) and the ones after it were not tried.
// Other errors (EINVAL/ENOTSUPP: no batch delete for this kernel or map type) throw.
Napi::Value BpfObject::MapDeleteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "map.deleteBatch";
  RequireLoaded(env, op);
  bpf_map* m = MapArg(info, op);
  Bytes keys = BytesArg(info, 1, "keys");
  uint32_t count = BatchCount(info, m, keys, op);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_delete_batch(bpf_map__fd(m), keys.data, &count, &opts) == 0) return Napi::Number::New(env, count);
  int err = errno;
  if (err == ENOENT) return Napi::Number::New(env, count);
  ThrowBpf(env, op, err, MapMessage("batch delete", m), MapExtra(env, m));
}

}  // namespace probegen
