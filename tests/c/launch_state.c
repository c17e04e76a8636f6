/* Prints what a launcher leaves a program: its arguments, its environment (in order),
 * its privileges, filters and signal state from /proc/self/status, and its open file
 * descriptors. Two launchers that leave a program the same start print the same.
 *
 * `launch_state --exec-env ENTRY... -- PROGRAM ARGS...` instead runs PROGRAM with
 * exactly the environment entries given, duplicates and entries without `=`
 * included, which no shell can pass. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--exec-env") == 0) {
        int end = 2;
        while (end < argc && strcmp(argv[end], "--") != 0)
            end++;
        if (end + 1 >= argc)
            return 2;
        char *env[256];
        int n = 0;
        for (int i = 2; i < end && n < 255; i++)
            env[n++] = argv[i];
        env[n] = NULL;
        execve(argv[end + 1], argv + end + 1, env);
        return 127;
    }
    for (int i = 0; i < argc; i++)
        printf("arg %s\n", argv[i]);

    size_t count = 0;
    while (environ[count])
        count++;
    char **env = calloc(count + 1, sizeof *env);
    if (!env)
        return 1;
    memcpy(env, environ, count * sizeof *env);
    for (size_t i = 0; i < count; i++)
        printf("env %s\n", env[i]);

    static const char *const keys[] = {"NoNewPrivs", "Seccomp", "Seccomp_filters",
                                       "CapInh", "CapPrm", "CapEff", "CapBnd",
                                       "CapAmb", "SigBlk", "SigIgn"};
    char line[512];
    FILE *status = fopen("/proc/self/status", "r");
    if (!status)
        return 1;
    while (fgets(line, sizeof line, status))
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            size_t len = strlen(keys[k]);
            if (strncmp(line, keys[k], len) == 0 && line[len] == ':')
                printf("status %s", line);
        }
    fclose(status);

    DIR *fds = opendir("/proc/self/fd");
    if (!fds)
        return 1;
    int own = dirfd(fds);
    int listed[1024];
    size_t n = 0;
    struct dirent *entry;
    while ((entry = readdir(fds)) && n < 1024) {
        if (entry->d_name[0] == '.' || atoi(entry->d_name) == own)
            continue;
        listed[n++] = atoi(entry->d_name);
    }
    closedir(fds);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (listed[j] < listed[i]) {
                int t = listed[i];
                listed[i] = listed[j];
                listed[j] = t;
            }
    for (size_t i = 0; i < n; i++) {
        char path[64], target[512];
        snprintf(path, sizeof path, "/proc/self/fd/%d", listed[i]);
        ssize_t len = readlink(path, target, sizeof target - 1);
        target[len < 0 ? 0 : len] = 0;
        printf("fd %d %s\n", listed[i], target);
    }
    return 0;
}
