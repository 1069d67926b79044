// Compiled only into the prebuilt addon, which links libbpf, libelf and zlib statically
// (binding.gyp: libbpf_archive, set by scripts/prebuild.mjs). Debian builds those archives
// for executables, not shared objects, and two of their references cannot be linked into
// the addon as they are; this file gives both a definition the addon can hold.
#include <stdio.h>

// libbpf's default logger writes to stderr through a reference only an executable may hold:
// the prebuild renames it in its copy of libbpf.a to this pointer, set when the addon loads.
__attribute__((visibility("hidden"))) FILE *probegen_libbpf_stderr;

__attribute__((constructor)) static void set_libbpf_stderr(void) { probegen_libbpf_stderr = stderr; }

// libelf keeps its error number in a local-exec thread-local variable (archive member
// elf_error.o). Defining that member's three functions here keeps the linker from taking it.
// The messages are numbers: libbpf prints them only for an object file libelf cannot read.
static __thread int current_error;
static __thread char message[32];

__attribute__((visibility("hidden"))) void __libelf_seterrno(int error) { current_error = error; }

__attribute__((visibility("hidden"))) int elf_errno(void) {
  int error = current_error;
  current_error = 0;
  return error;
}

// error 0: the current error's message, or NULL when there is none; -1: the current error's.
__attribute__((visibility("hidden"))) const char *elf_errmsg(int error) {
  int shown = error == 0 || error == -1 ? current_error : error;
  if (shown == 0) return error == 0 ? NULL : "no error";
  snprintf(message, sizeof message, "libelf error %d", shown);
  return message;
}
