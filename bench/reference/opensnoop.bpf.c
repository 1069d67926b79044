// Hand-written reference for probes/opensnoop.yaml, as an expert would write it for a
// batched (timer-drained) reader: reserve, fill, submit without a wake-up.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#ifdef COUNT_DROPS
/* -DCOUNT_DROPS: count reserve failures the way probegen's programs do (the same work). */
__u64 pg_drops SEC(".data.pg_drops") = 0;
#define DROPPED() __sync_fetch_and_add(&pg_drops, 1)
#else
#define DROPPED() ((void)0)
#endif

struct event {
	__u32 pid, uid;
	__s32 flags;
	char comm[16];
	char filename[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 262144);
} events SEC(".maps");

struct openat_ctx {
	__u64 common;
	__s32 nr;
	__u64 dfd;
	const char *filename;
	__u64 flags;
	__u64 mode;
};

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(struct openat_ctx *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), ug = bpf_get_current_uid_gid();
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		DROPPED();
		return 0;
	}
	e->pid = id >> 32;
	e->uid = (__u32)ug;
	e->flags = (__s32)ctx->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->filename, sizeof(e->filename), ctx->filename);
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}
