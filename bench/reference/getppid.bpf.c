// Hand-written reference for the event-path figure: the same 64-byte event as
// bench/specs/getppid.yaml, one per getppid(2). WAKEUP_FLAGS is set at compile
// time: 0 (libbpf's default: wake the reader on every submit that finds it
// caught up) for consumer (a), BPF_RB_NO_WAKEUP for timer-drained consumers.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef WAKEUP_FLAGS
#define WAKEUP_FLAGS 0
#endif

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u64 ktime;
	__u32 pid, tid, uid, gid, cpu;
	__s32 nr;
	char comm[16];
	char comm2[16];
};
_Static_assert(sizeof(struct event) == 64, "64-byte event");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* same ring as bench/specs/getppid.yaml */
} events SEC(".maps");

/* Reserve failures (the same counter as probegen's, so one consumer reads both). */
__u64 pg_drops SEC(".data.pg_drops") = 0;

struct getppid_ctx {
	__u64 common;
	__s32 nr;
};

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(struct getppid_ctx *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), ug = bpf_get_current_uid_gid();
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&pg_drops, 1);
		return 0;
	}
	e->ktime = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)ug;
	e->gid = ug >> 32;
	e->cpu = bpf_get_smp_processor_id();
	e->nr = ctx->nr;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_get_current_comm(e->comm2, sizeof(e->comm2));
	bpf_ringbuf_submit(e, WAKEUP_FLAGS);
	return 0;
}
