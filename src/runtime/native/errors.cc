// Error plumbing: the JS layer hands us its error factory at init, and libbpf's
// diagnostics are captured per call instead of going to stderr.
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "common.h"

namespace probegen {

namespace {

thread_local std::string* t_sink = nullptr;
bool g_echo = false;  // PROBEGEN_LIBBPF_DEBUG=1 also echoes to stderr

int PrintHook(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !g_echo) return 0;
  va_list copy;
  va_copy(copy, args);
  if (g_echo) vfprintf(stderr, fmt, copy);
  va_end(copy);
  if (t_sink == nullptr || level == LIBBPF_DEBUG) return 0;
  char small[512];
  va_copy(copy, args);
  int n = vsnprintf(small, sizeof small, fmt, copy);
  va_end(copy);
  if (n < 0) return 0;
  if (static_cast<size_t>(n) < sizeof small) {
    t_sink->append(small, n);
  } else {
    // Verifier logs arrive as one huge message; format straight into the sink.
    size_t at = t_sink->size();
    t_sink->resize(at + n + 1);
    vsnprintf(&(*t_sink)[at], n + 1, fmt, args);
    t_sink->resize(at + n);
  }
  return 0;
}

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "init: expected an error factory function");
  GetAddonData(info.Env())->makeError = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace

LibbpfLogCapture::LibbpfLogCapture() : previous_(t_sink) { t_sink = &text_; }
LibbpfLogCapture::~LibbpfLogCapture() { t_sink = previous_; }

void InstallLibbpfPrint() {
  const char* echo = getenv("PROBEGEN_LIBBPF_DEBUG");
  g_echo = echo != nullptr && echo[0] != '\0' && echo[0] != '0';
  libbpf_set_print(PrintHook);
}

Napi::Value MakeBpfError(Napi::Env env, const char* operation, int err, const std::string& message,
                         Napi::Object extra) {
  if (err < 0) err = -err;
  AddonData* data = GetAddonData(env);
  if (data->makeError.IsEmpty()) {
    Napi::Error e = Napi::Error::New(env, std::string(operation) + ": " + message);
    e.Set("errno", Napi::Number::New(env, err));
    return e.Value();
  }
  Napi::Value extraValue = extra.IsEmpty() ? env.Undefined() : Napi::Value(extra);
  return data->makeError.Call({Napi::String::New(env, operation), Napi::Number::New(env, err),
                               Napi::String::New(env, message), extraValue});
}

void ThrowBpf(Napi::Env env, const char* operation, int err, const std::string& message, Napi::Object extra) {
  throw Napi::Error(env, MakeBpfError(env, operation, err, message, extra));
}

Napi::Object InitErrors(Napi::Env env, Napi::Object exports) {
  InstallLibbpfPrint();
  exports.Set("init", Napi::Function::New(env, SetErrorFactory, "init"));
  return exports;
}

}  // namespace probegen
