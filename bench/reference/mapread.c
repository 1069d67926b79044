// The C reference of the map-read figure (bench/map-read.mjs): reads every entry of a hash map
// with bpf_map_lookup_batch, BATCH entries per call, into arrays of keys and values (as
// libbpf-tools' syscount reads its counts), ROUNDS times.
//   mapread FD BATCH ROUNDS   (FD: the map, inherited from the parent)
// Prints {"entries": N, "ns": [CPU ns of each round], "sum": S} (sum: the values, so the read is used).
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct key {  // bench/specs/mapread.yaml's counts key: 20 bytes
  uint32_t pid;
  char comm[16];
};
_Static_assert(sizeof(struct key) == 20, "mapread.yaml key layout");

// CPU time, as bench/map-read.mjs measures JS: on a shared machine, wall time is mostly
// the other processes' turns.
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: mapread FD BATCH ROUNDS\n");
    return 2;
  }
  int fd = atoi(argv[1]);
  uint32_t batch = (uint32_t)atoi(argv[2]);
  int rounds = atoi(argv[3]);
  struct bpf_map_info info = {0};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.key_size != sizeof(struct key) || info.value_size != 8) {
    fprintf(stderr, "mapread: fd %d is not the mapread counts map\n", fd);
    return 1;
  }
  // Room for every entry, plus a batch: a hash batch returns whole buckets.
  size_t room = info.max_entries + batch;
  struct key* keys = malloc(room * sizeof(*keys));
  uint64_t* values = malloc(room * sizeof(*values));
  uint64_t sum = 0;
  size_t entries = 0;
  printf("{\"ns\": [");
  for (int r = 0; r < rounds; r++) {
    uint64_t start = now_ns();
    uint64_t token = 0;
    void* in = NULL;
    entries = 0;
    for (;;) {
      uint32_t count = batch;
      LIBBPF_OPTS(bpf_map_batch_opts, opts);
      int err = bpf_map_lookup_batch(fd, in, &token, keys + entries, values + entries, &count, &opts);
      if (err && errno != ENOENT) {
        fprintf(stderr, "mapread: bpf_map_lookup_batch: %s\n", strerror(errno));
        return 1;
      }
      entries += count;
      if (err) break;  // ENOENT: no more entries
      in = &token;
    }
    uint64_t ns = now_ns() - start;
    for (size_t i = 0; i < entries; i++) sum += values[i] + keys[i].pid;
    printf("%s%llu", r ? ", " : "", (unsigned long long)ns);
  }
  printf("], \"entries\": %zu, \"sum\": %llu}\n", entries, (unsigned long long)sum);
  return 0;
}
