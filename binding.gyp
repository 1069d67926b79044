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
      "variables": {
        # The prebuilt addon (scripts/prebuild.mjs) names its copy of libbpf.a here: libbpf,
        # libelf and zlib are then linked statically and kept out of the addon's exported
        # symbols, so it loads on machines without them. A build from source links the
        # system's shared libbpf.
        "libbpf_archive%": ""
      },
      "conditions": [
        ["libbpf_archive!=''", {
          "sources": ["src/runtime/native/static-libs.c"],
          "libraries": ["-Wl,--exclude-libs,ALL", "<(libbpf_archive)", "-Wl,-Bstatic", "-lelf", "-lz", "-Wl,-Bdynamic"]
        }, {
          "libraries": ["<!@(pkg-config --libs libbpf)", "-lelf", "-lz"]
        }]
      ]
    }
  ]
}
