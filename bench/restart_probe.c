/* A bot for the restart-latency benchmark: appends "start <ns>" when it
 * begins and "end <ns>" right before it exits (CLOCK_MONOTONIC), to the file
 * named by $PROBE_LOG, with O_APPEND so that consecutive runs interleave in
 * order. The gap from one run's "end" to the next run's "start" is the
 * supervisor's cost: reap, decide, spawn, exec. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void note(int fd, const char *what) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[64];
    int n = snprintf(line, sizeof line, "%s %lld\n", what, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (write(fd, line, (size_t)n) != n) _exit(2);
}

int main(void) {
    const char *path = getenv("PROBE_LOG");
    if (!path) return 2;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return 2;
    note(fd, "start");
    note(fd, "end");
    return 1; /* a failure, so that on-failure restarts it */
}
