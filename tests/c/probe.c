/* A probe run under the shim and the launcher by the end-to-end tests.
 *
 * Every run first creates the file named by PROBE_MARK, if set: a side effect that
 * proves main ran. Then it does what argv[1] says and prints one line of results.
 * Denied calls are made with invalid arguments, so that an allowed call fails
 * harmlessly (EBADF, EINVAL) and a denied one returns the filter's errno. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

/* The value after `key` in a /proc status file, or -1. */
static long status_field(const char *path, const char *key)
{
    char line[256];
    long value = -1;
    size_t len = strlen(key);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, len) == 0 && line[len] == ':')
            value = strtol(line + len + 1, NULL, 10);
    fclose(f);
    return value;
}

/* kexec_file_load with bad fds: EBADF or EPERM when allowed, the profile's errno when
 * denied by Docker's default (it needs CAP_SYS_BOOT). */
static int denied_errno(void)
{
    errno = 0;
    syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0UL);
    return errno;
}

static void print_status(const char *path)
{
    printf("seccomp=%ld filters=%ld nnp=%ld denied=%d\n", status_field(path, "Seccomp"),
           status_field(path, "Seccomp_filters"), status_field(path, "NoNewPrivs"),
           denied_errno());
}

/* Environment variables of seclaunch's and the loader's, and fds above 2. */
static void print_env(void)
{
    DIR *d;
    struct dirent *e;
    for (char **v = environ; *v; v++)
        if (strncmp(*v, "SECLAUNCH_", 10) == 0 || strncmp(*v, "LD_PRELOAD=", 11) == 0)
            printf("env %s\n", *v);
    d = opendir("/proc/self/fd");
    while (d && (e = readdir(d)))
        if (atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d))
            printf("fd %s\n", e->d_name);
    if (d)
        closedir(d);
}

static void *thread_status(void *arg)
{
    char path[64];
    (void)arg;
    snprintf(path, sizeof path, "/proc/thread-self/status");
    print_status(path);
    return NULL;
}

static int run_threads(int n)
{
    pthread_t t[16];
    for (int i = 0; i < n && i < 16; i++)
        if (pthread_create(&t[i], NULL, thread_status, NULL) != 0)
            return 3;
    for (int i = 0; i < n && i < 16; i++)
        pthread_join(t[i], NULL);
    return 0;
}

/* Execs itself `n` more times, then prints the status. */
static int chain(const char *self, int n)
{
    char next[16];
    if (n <= 0) {
        print_status("/proc/self/status");
        return 0;
    }
    snprintf(next, sizeof next, "%d", n - 1);
    fflush(stdout);
    execl(self, self, "chain", next, (char *)NULL);
    perror("probe: exec");
    return 4;
}

int main(int argc, char **argv)
{
    const char *mark = getenv("PROBE_MARK");
    if (mark) {
        int fd = open(mark, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0)
            close(fd);
    }
    if (argc < 2 || strcmp(argv[1], "status") == 0) {
        print_status("/proc/self/status");
        return 0;
    }
    if (strcmp(argv[1], "env") == 0) {
        print_env();
        return 0;
    }
    if (strcmp(argv[1], "threads") == 0 && argc > 2)
        return run_threads(atoi(argv[2]));
    if (strcmp(argv[1], "chain") == 0 && argc > 2)
        return chain("/proc/self/exe", atoi(argv[2]));
    if (strcmp(argv[1], "exec-clean") == 0 && argc > 2) {
        /* What a program inside would do to shed the shim: no LD_PRELOAD, no marker. */
        unsetenv("LD_PRELOAD");
        unsetenv("SECLAUNCH_ACTIVE");
        fflush(stdout);
        execv(argv[2], argv + 2);
        perror("probe: exec");
        return 4;
    }
    if (strcmp(argv[1], "early-thread") == 0) {
        void (*check)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "early_thread_check");
        if (!check)
            return 5;
        check();
        return 0;
    }
    if (strcmp(argv[1], "ids") == 0) {
        printf("uid=%d euid=%d\n", (int)getuid(), (int)geteuid());
        return 0;
    }
    if (strcmp(argv[1], "caps") == 0) {
        char line[256];
        FILE *f = fopen("/proc/self/status", "r");
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "Cap", 3) == 0)
                fputs(line, stdout);
        if (f)
            fclose(f);
        return 0;
    }
    if (strcmp(argv[1], "pid") == 0) {
        printf("%d\n", (int)getpid());
        return 0;
    }
    if (strcmp(argv[1], "exit") == 0 && argc > 2)
        return atoi(argv[2]);
    fprintf(stderr, "probe: unknown command %s\n", argv[1]);
    return 2;
}
