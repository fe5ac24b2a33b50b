/* bench/spawn.c: times whole invocations of several commands, each with a
 * file on stdin and stdout to /dev/null, interleaved round by round so that
 * load from other processes hits every command alike; prints each command's
 * median and quartiles in milliseconds, one line per command.
 *
 *   spawn RUNS WARMUP INPUT -- CMD1 ARGS... -- CMD2 ARGS... [-- ...]
 *
 * No shell sits between the timer and the command (hyperfine 1.15 has no
 * --input, and its shell correction is coarser than what we measure). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double run(char **argv, const char *input) {
    double start = now();
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(1); }
    if (pid == 0) {
        int in = open(input, O_RDONLY), out = open("/dev/null", O_WRONLY);
        if (in < 0 || out < 0) _exit(126);
        dup2(in, 0); dup2(out, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    double elapsed = now() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "spawn: %s failed (status %d)\n", argv[0], status);
        exit(1);
    }
    return elapsed;
}

int main(int argc, char **argv) {
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: spawn RUNS WARMUP INPUT -- CMD ARGS... [-- CMD ARGS...]\n");
        return 2;
    }
    int runs = atoi(argv[1]), warmup = atoi(argv[2]);
    const char *input = argv[3];
    char **cmds[32];
    int n = 0;
    for (int i = 4; i < argc && n < 32; i++) {
        if (strcmp(argv[i], "--") == 0) { argv[i] = NULL; if (i + 1 < argc) cmds[n++] = &argv[i + 1]; }
    }
    double *times = calloc((size_t)runs * n, sizeof(double));
    for (int r = -warmup; r < runs; r++)
        for (int c = 0; c < n; c++) {
            double t = run(cmds[c], input);
            if (r >= 0) times[c * runs + r] = t;
        }
    for (int c = 0; c < n; c++) {
        double *t = times + c * runs;
        qsort(t, runs, sizeof(double), cmp);
        printf("%s\t%.3f\t%.3f\t%.3f\n", cmds[c][0], t[runs / 2], t[runs / 4], t[3 * runs / 4]);
    }
    return 0;
}
