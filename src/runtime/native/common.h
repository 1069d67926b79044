// Shared declarations for the probegen native addon. The addon is a thin,
// synchronous wrapper over libbpf; policy (validation, error wording, event
// decoding) lives in the TypeScript layer.
#pragma once

#include <napi.h>

#include <string>

namespace probegen {

// Per-environment state (one per main thread / worker), kept as instance data
// so worker threads never share references.
struct AddonData {
  Napi::FunctionReference makeError;  // JS factory: (op, errno, message, extra) => Error
  Napi::FunctionReference ringReaderCtor;
};

AddonData* GetAddonData(Napi::Env env);

// Collects libbpf's printed messages while a libbpf call runs on this thread.
// libbpf's print hook is process-global, so the sink is thread-local.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string* previous_;
};

void InstallLibbpfPrint();

// Builds the error through the JS factory (so JS owns the class) and throws it
// as a C++ exception; `extra` may carry log, program, map...
Napi::Value MakeBpfError(Napi::Env env, const char* operation, int err, const std::string& message,
                         Napi::Object extra = Napi::Object());
[[noreturn]] void ThrowBpf(Napi::Env env, const char* operation, int err,
                           const std::string& message,
                           Napi::Object extra = Napi::Object());

Napi::Object InitErrors(Napi::Env env, Napi::Object exports);
Napi::Object InitObject(Napi::Env env, Napi::Object exports);
Napi::Object InitRingReader(Napi::Env env, Napi::Object exports);
void InitClock(Napi::Env env, Napi::Object exports);

}  // namespace probegen
