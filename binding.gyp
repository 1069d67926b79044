{
  "targets": [
    {
      "target_name": "probegen_native",
      "sources": [
        "src/runtime/native/addon.cc",
        "src/runtime/native/errors.cc",
        "src/runtime/native/object.cc",
        "src/runtime/native/map.cc",
        "src/runtime/native/ringbuf.cc",
        "src/runtime/native/clock.cc",
        "src/runtime/native/tc.cc",
        "src/runtime/native/perf_event.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "<!@(pkg-config --cflags libbpf)"],
      "libraries": ["<!@(pkg-config --libs libbpf)", "-lelf", "-lz"]
    }
  ]
}
