// tc attachments: a tcx link from a raw BPF_LINK_CREATE, or a clsact filter over netlink.
#include "tc.h"

#include <bpf/bpf.h>

#include <cerrno>

#include <unistd.h>

namespace probegen {

// enum bpf_attach_type's BPF_TCX_INGRESS / BPF_TCX_EGRESS (Linux 6.6); Debian 12's headers
// predate them, and an enum cannot be tested with #ifdef.
constexpr int kTcxIngress = 46;
constexpr int kTcxEgress = 47;

// What a kernel without tcx says to a link of an attach type it does not know.
static bool NoTcx(int err) { return err == -EINVAL || err == -EOPNOTSUPP || err == -524 /* ENOTSUPP */; }

int TcAttachment::Attach(int progFd, int ifindex, bool ingress, const std::string& want) {
  if (want != "clsact") {
    int err = AttachTcx(progFd, ifindex, ingress);
    if (err == 0 || want == "tcx" || !NoTcx(err)) return err;
  }
  return AttachClsact(progFd, ifindex, ingress);
}

int TcAttachment::AttachTcx(int progFd, int ifindex, bool ingress) {
  // Zeroed options: appended after the programs already there, no revision check.
  int fd = bpf_link_create(progFd, ifindex, static_cast<bpf_attach_type>(ingress ? kTcxIngress : kTcxEgress), nullptr);
  if (fd < 0) return fd < -1 ? fd : -errno;
  linkFd_ = fd;
  return 0;
}

int TcAttachment::AttachClsact(int progFd, int ifindex, bool ingress) {
  hook_ = {};
  hook_.sz = sizeof hook_;
  hook_.ifindex = ifindex;
  hook_.attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS;
  // The interface's clsact qdisc, shared with other filters: created when missing, and left
  // in place on detach (destroying it would remove every other program's filters too).
  int err = bpf_tc_hook_create(&hook_);
  if (err && err != -EEXIST) return err;
  opts_ = {};
  opts_.sz = sizeof opts_;
  opts_.prog_fd = progFd;
  err = bpf_tc_attach(&hook_, &opts_);  // the kernel picks handle and priority; opts_ gets them back
  if (err) return err;
  filter_ = true;
  return 0;
}

void TcAttachment::Detach() {
  if (linkFd_ >= 0) close(linkFd_);  // the last reference to a tcx link detaches it
  linkFd_ = -1;
  if (!filter_) return;
  filter_ = false;
  bpf_tc_opts which = {};
  which.sz = sizeof which;
  which.handle = opts_.handle;
  which.priority = opts_.priority;
  bpf_tc_detach(&hook_, &which);  // fails only when the interface (and its filters) is gone
}

}  // namespace probegen
