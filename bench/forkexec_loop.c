/* Baseline for restart latency: the cheapest possible "supervisor", a C loop
 * that fork+execs the probe N times and waits for each. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int n = atoi(argv[1]);
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) { execv(argv[2], argv + 2); _exit(127); }
        int st;
        waitpid(p, &st, 0);
    }
    return 0;
}
