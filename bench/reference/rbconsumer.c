// The C libbpf reference consumer. Loads a BPF object, attaches every program, reads the
// ring buffer map "events" until SIGTERM/SIGINT, then prints one JSON line.
//   rbconsumer OBJ poll            ring_buffer__poll (blocks in epoll; wakes when the kernel wakes it)
//   rbconsumer OBJ consume MS      ring_buffer__consume every MS milliseconds
// Prints "ready {"progIds":[...]}" on stdout once attached. Events, CPU (getrusage from ready to exit), drops
// (the u64 global pg_drops in section .data.pg_drops, when the object has one), program ids, and the latency
// of every 64th event when the record starts with a bpf_ktime_get_ns() (LATENCY=1 in env).
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static unsigned long long events;
static int latency;
#define MAX_SAMPLES (1 << 20)
static unsigned long long *samples;
static size_t nsamples;

static void on_signal(int sig) { (void)sig; stop = 1; }

static unsigned long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (latency && (events & 63) == 0 && size >= 8 && nsamples < MAX_SAMPLES) {
		unsigned long long t;
		memcpy(&t, data, 8);
		samples[nsamples++] = mono_ns() - t;
	}
	events++;
	return 0;
}

static unsigned long long cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

static int cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: rbconsumer OBJ poll|consume [MS]\n");
		return 2;
	}
	int consume = !strcmp(argv[2], "consume");
	int interval_ms = argc > 3 ? atoi(argv[3]) : 1;
	latency = getenv("LATENCY") != NULL;
	samples = calloc(MAX_SAMPLES, sizeof(*samples));
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);

	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "load %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct bpf_program *prog;
	int ids[16], nids = 0;
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "attach %s: %s\n", bpf_program__name(prog), strerror(errno));
			return 1;
		}
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		if (nids < 16 && !bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			ids[nids++] = info.id;
	}
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "events");
	struct ring_buffer *rb = map ? ring_buffer__new(bpf_map__fd(map), on_sample, NULL, NULL) : NULL;
	if (!rb) {
		fprintf(stderr, "ring buffer: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	unsigned long long cpu0 = cpu_ns(), t0 = mono_ns();
	printf("ready {\"progIds\":[");
	for (int i = 0; i < nids; i++)
		printf("%s%d", i ? "," : "", ids[i]);
	printf("]}\n");
	fflush(stdout);
	struct timespec tick = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };
	while (!stop) {
		if (consume) {
			ring_buffer__consume(rb);
			nanosleep(&tick, NULL);
		} else {
			int err = ring_buffer__poll(rb, 100);
			if (err < 0 && err != -EINTR) {
				fprintf(stderr, "poll: %d\n", err);
				break;
			}
		}
	}
	ring_buffer__consume(rb);
	unsigned long long cpu1 = cpu_ns(), t1 = mono_ns();

	unsigned long long drops = 0;
	struct bpf_map *dm = bpf_object__find_map_by_name(obj, ".data.pg_drops");
	if (dm) {
		__u64 value[8] = {0}; /* the section holds pg_drops alone */
		__u32 zero = 0;
		if (bpf_map__value_size(dm) <= sizeof(value) && !bpf_map_lookup_elem(bpf_map__fd(dm), &zero, value))
			drops = value[0];
	}
	qsort(samples, nsamples, sizeof(*samples), cmp);
	printf("{\"events\":%llu,\"cpuNs\":%llu,\"wallNs\":%llu,\"drops\":%s%llu,\"latencySamples\":%zu,\"latencyP50Ns\":%llu,\"latencyP99Ns\":%llu,\"progIds\":[",
	       events, cpu1 - cpu0, t1 - t0, dm ? "" : "-", dm ? drops : 1ULL, nsamples,
	       nsamples ? samples[nsamples / 2] : 0, nsamples ? samples[nsamples * 99 / 100] : 0);
	for (int i = 0; i < nids; i++)
		printf("%s%d", i ? "," : "", ids[i]);
	printf("]}\n");
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
