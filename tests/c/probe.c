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
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
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
static int ours(const char *entry)
{
    return strncmp(entry, "SECLAUNCH_", 10) == 0 || strncmp(entry, "LD_PRELOAD=", 11) == 0;
}

static void print_env(void)
{
    DIR *d;
    struct dirent *e;
    char initial[65536];
    for (char **v = environ; *v; v++)
        if (ours(*v))
            printf("env %s\n", *v);
    /* The environment the process started with, as /proc shows it to anyone. */
    int fd = open("/proc/self/environ", O_RDONLY);
    ssize_t len = fd < 0 ? 0 : read(fd, initial, sizeof initial - 1);
    if (fd >= 0)
        close(fd);
    for (ssize_t at = 0; at < len; at += strlen(initial + at) + 1) {
        initial[len] = 0;
        if (ours(initial + at))
            printf("initial-env %s\n", initial + at);
    }
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

/* The errno of a raw syscall, 0 if it succeeded. A clone that succeeds creates a child,
 * which leaves at once. */
static int raw_errno(long nr, long a, long b, long c, long d, long e)
{
    long rc;
    errno = 0;
    rc = syscall(nr, a, b, c, d, e);
    if (rc == 0 && nr == SYS_clone)
        _exit(0);
    return rc < 0 ? errno : 0;
}

#ifdef __x86_64__
/* A call through the i386 ABI (int $0x80), with at most three arguments: -errno. */
static long int80(long nr, long a, long b, long c)
{
    long rc;
    __asm__ volatile("int $0x80" : "=a"(rc) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return rc;
}
#endif

/* Every way out the adversarial tests try, each made so that an allowed call fails
 * harmlessly in the kernel: "name=errno" for each, on one line. */
static void print_escapes(void)
{
    static const struct {
        const char *name;
        long nr, a, b, c, d, e;
    } calls[] = {
        {"clone3", SYS_clone3, 0, 0, 0, 0, 0},
        {"clone_newuser", SYS_clone, 0x10000000 | 17 /* CLONE_NEWUSER|SIGCHLD */, 0, 0, 0, 0},
        {"unshare", SYS_unshare, 0x10000000, 0, 0, 0, 0},
        {"setns", SYS_setns, -1, 0, 0, 0, 0},
        {"mount", SYS_mount, 0, 0, 0, 0, 0},
        {"bpf", SYS_bpf, -1, 0, 0, 0, 0},
        {"io_uring_setup", SYS_io_uring_setup, 0, 0, 0, 0, 0},
        {"userfaultfd", SYS_userfaultfd, -1, 0, 0, 0, 0},
        {"personality_no_randomize", SYS_personality, 0x0040000, 0, 0, 0, 0},
        {"keyctl", SYS_keyctl, -1, 0, 0, 0, 0},
        {"init_module", SYS_init_module, 0, 0, 0, 0, 0},
        {"x32_kexec_file_load", 0x40000000 | SYS_kexec_file_load, -1, -1, 0, 0, 0},
        {"nr_minus_1", -1, 0, 0, 0, 0, 0},
        {"nr_1000", 1000, 0, 0, 0, 0, 0},
        {"nr_0x3fffffff", 0x3fffffff, 0, 0, 0, 0, 0},
    };
    for (unsigned i = 0; i < sizeof calls / sizeof calls[0]; i++)
        printf("%s%s=%d", i ? " " : "", calls[i].name,
               raw_errno(calls[i].nr, calls[i].a, calls[i].b, calls[i].c, calls[i].d,
                         calls[i].e));
#ifdef __x86_64__
    /* i386: kexec_load (283) with bad arguments. */
    printf(" i386_kexec_load=%ld", -int80(283, 0, 0, 0));
#endif
    printf("\n");
}

/* Tries to loosen the filter from inside: a new allow-all filter (seccomp(2) and
 * prctl(2)), then the denied call again. */
static int loosen(void)
{
    struct {
        unsigned short code;
        unsigned char jt, jf;
        unsigned int k;
    } allow = {0x06, 0, 0, 0x7fff0000};
    struct {
        unsigned short len;
        void *filter;
    } prog = {1, &allow};
    long via_seccomp = syscall(SYS_seccomp, 1 /* SET_MODE_FILTER */, 0, &prog);
    long via_prctl = prctl(22 /* PR_SET_SECCOMP */, 2 /* MODE_FILTER */, &prog, 0, 0);
    printf("seccomp=%ld prctl=%ld ", via_seccomp, via_prctl);
    print_status("/proc/self/status");
    return 0;
}

#ifdef __x86_64__
/* A tracer under the filter rewrites its traced child's getpid into kexec_file_load at
 * syscall entry; the kernel runs the filter again on the rewritten call (since Linux
 * 4.8). Prints "rewritten=<errno the child's call returned>". */
static int ptrace_rewrite(void)
{
    int status;
    struct user_regs_struct regs;
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        long rc = syscall(SYS_getpid);
        _exit(rc < 0 ? errno : 0);
    }
    waitpid(child, &status, 0);
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
    for (;;) {
        if (ptrace(PTRACE_SYSCALL, child, 0, 0) || waitpid(child, &status, 0) < 0)
            return 6;
        if (WIFEXITED(status)) {
            printf("rewritten=%d\n", WEXITSTATUS(status));
            return 0;
        }
        if (!(WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80)))
            continue;
        ptrace(PTRACE_GETREGS, child, 0, &regs);
        if (regs.orig_rax == SYS_getpid) {
            regs.orig_rax = SYS_kexec_file_load;
            regs.rdi = (unsigned long)-1;
            regs.rsi = (unsigned long)-1;
            regs.rdx = 0;
            ptrace(PTRACE_SETREGS, child, 0, &regs);
        }
    }
}
#endif

/* Tries SECCOMP_MODE_STRICT and says how that went with write(2), which strict mode
 * allows. Entered, the next call kills the process; refused (as below a filter), the
 * status follows. */
static int strict(void)
{
    long rc = syscall(SYS_seccomp, 0 /* SECCOMP_SET_MODE_STRICT */, 0, NULL);
    char line[32];
    int n = snprintf(line, sizeof line, "strict=%ld\n", rc < 0 ? -errno : rc);
    if (write(1, line, (size_t)n) < 0)
        return 7;
    if (rc < 0) {
        /* Refused: the filter in force stays what it was. */
        print_status("/proc/self/status");
        return 0;
    }
    syscall(SYS_getppid);
    return 8;
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
    if (strcmp(argv[1], "escapes") == 0) {
        print_escapes();
        return 0;
    }
    if (strcmp(argv[1], "loosen") == 0)
        return loosen();
    if (strcmp(argv[1], "strict") == 0)
        return strict();
#ifdef __x86_64__
    if (strcmp(argv[1], "ptrace-rewrite") == 0)
        return ptrace_rewrite();
#endif
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
