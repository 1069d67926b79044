// A program on an interface's tc hook: a tcx link where the kernel has them (6.6+), else a
// direct-action filter on a clsact qdisc. libbpf 1.1 has neither bpf_program__attach_tcx nor
// a bpf_link for a tc filter, so this owns what it creates until Detach().
#pragma once

#include <bpf/libbpf.h>

#include <string>

namespace probegen {

class TcAttachment {
 public:
  // `want` is "auto" (tcx, else clsact), "tcx" or "clsact". Returns 0 or a negative errno.
  int Attach(int progFd, int ifindex, bool ingress, const std::string& want);
  void Detach();
  // "tcx" or "clsact": how Attach() attached.
  const char* mode() const { return linkFd_ >= 0 ? "tcx" : "clsact"; }

 private:
  int AttachTcx(int progFd, int ifindex, bool ingress);
  int AttachClsact(int progFd, int ifindex, bool ingress);

  int linkFd_ = -1;
  bool filter_ = false;
  bpf_tc_hook hook_{};
  bpf_tc_opts opts_{};
};

}  // namespace probegen
