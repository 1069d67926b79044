// Hand-written reference for probes/execsnoop.yaml, as an expert would write it for a
// batched (timer-drained) reader: reserve, fill, submit without a wake-up.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* Only what is read, relocated with CO-RE (as with a trimmed vmlinux.h). */
struct task_struct {
	struct task_struct *real_parent;
	int tgid;
} __attribute__((preserve_access_index));

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
	__s32 ppid, old_pid;
	char comm[16];
	char filename[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 262144);
} events SEC(".maps");

struct exec_ctx {
	__u64 common;
	__u32 filename_loc; /* __data_loc char[]: offset in the low 16 bits */
	__s32 pid;
	__s32 old_pid;
};

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct exec_ctx *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), ug = bpf_get_current_uid_gid();
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		DROPPED();
		return 0;
	}
	e->pid = id >> 32;
	e->uid = (__u32)ug;
	e->ppid = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), real_parent, tgid);
	e->old_pid = ctx->old_pid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + (ctx->filename_loc & 0xffff));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}
