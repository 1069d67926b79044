// Workloads for the bench, pinned to one CPU:
//   workload getppid CPU SECONDS [RATE]  getppid(2) at full speed (or RATE calls/s); prints calls and rate
//   workload open CPU N PATH       N openat(2)+close of PATH
//   workload exec CPU N            N fork+exec of /bin/true, each waited for
// Output: one JSON line {"calls":..,"seconds":..,"rate":..}
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: workload getppid|open|exec CPU ARG [PATH]\n");
		return 2;
	}
	int cpu = atoi(argv[2]);
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("sched_setaffinity");
			return 1;
		}
	}
	unsigned long long calls = 0;
	double start = now(), end;
	if (!strcmp(argv[1], "getppid")) {
		double stop = start + atof(argv[3]);
		double rate = argc > 4 ? atof(argv[4]) : 0;
		if (rate > 0) {
			/* paced: one call per 1/rate s (latency at a low rate, where only the timer drains) */
			struct timespec gap = { 0, (long)(1e9 / rate) };
			while (now() < stop) {
				syscall(SYS_getppid);
				calls++;
				nanosleep(&gap, NULL);
			}
		} else for (;;) {
			for (int i = 0; i < 4096; i++)
				syscall(SYS_getppid);
			calls += 4096;
			if (now() >= stop)
				break;
		}
	} else if (!strcmp(argv[1], "open") && argc >= 5) {
		long n = atol(argv[3]);
		for (long i = 0; i < n; i++) {
			int fd = syscall(SYS_openat, AT_FDCWD, argv[4], O_RDONLY);
			if (fd < 0) {
				perror("openat");
				return 1;
			}
			close(fd);
			calls++;
		}
	} else if (!strcmp(argv[1], "exec")) {
		long n = atol(argv[3]);
		for (long i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			if (pid < 0 || waitpid(pid, NULL, 0) < 0) {
				perror("fork/wait");
				return 1;
			}
			calls++;
		}
	} else {
		fprintf(stderr, "unknown workload %s\n", argv[1]);
		return 2;
	}
	end = now();
	printf("{\"calls\":%llu,\"seconds\":%.6f,\"rate\":%.1f}\n", calls, end - start, calls / (end - start));
	return 0;
}
