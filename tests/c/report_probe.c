/* The program the --report tests run. argv[1] says what to do; each mode prints one
 * line of results (name=errno for each call), flushed before anything that can end the
 * process. Every call is made with all six argument registers set, so the report can be
 * compared exactly; the arguments are invalid, so that an allowed call fails harmlessly
 * and a denied one returns the filter's errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLONE_NEWNS_ 0x00020000L
#define CLONE_NEWUSER_ 0x10000000L

/* The errno of a raw x86_64 call with six arguments, 0 if it succeeded. */
static int call6(long nr, long a, long b, long c, long d, long e, long f)
{
    errno = 0;
    return syscall(nr, a, b, c, d, e, f) < 0 ? errno : 0;
}

#ifdef __x86_64__
/* A call through the i386 ABI (int $0x80) with all six registers set: -errno. %ebp
 * is saved around the call, and the red zone is stepped over before the push. */
static long int80(long nr, long a, long b, long c, long d, long e, long f)
{
    long rc;
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "push %%rbp\n\t"
                     "mov %[f], %%rbp\n\t"
                     "int $0x80\n\t"
                     "pop %%rbp\n\t"
                     "add $128, %%rsp"
                     : "=a"(rc)
                     : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), [f] "r"(f)
                     : "memory");
    return rc;
}
#endif

/* unshare twice, mount, clone3, a number no ABI has (runc's ENOSYS stub), an i386
 * unshare; and getpid, which every profile the tests use allows. */
static void calls(void)
{
    printf("unshare=%d", call6(SYS_unshare, CLONE_NEWUSER_ | CLONE_NEWNS_, 0, 0, 0, 0, 0));
    printf(" unshare_again=%d",
           call6(SYS_unshare, CLONE_NEWUSER_ | CLONE_NEWNS_, 0, 0, 0, 0, 0));
    printf(" mount=%d", call6(SYS_mount, 0, 0, 0, 0, 0, 0));
    printf(" clone3=%d", call6(SYS_clone3, 0, 0, 0, 0, 0, 0));
    printf(" nr_1000=%d", call6(1000, 0, 0, 0, 0, 0, 0));
    printf(" getpid=%d", call6(SYS_getpid, 0, 0, 0, 0, 0, 0));
#ifdef __x86_64__
    /* i386 unshare is 310. */
    printf(" i386_unshare=%ld", -int80(310, CLONE_NEWUSER_, 0, 0, 0, 0, 0));
#endif
    printf("\n");
}

static void *thread_unshare(void *arg)
{
    (void)arg;
    call6(SYS_unshare, CLONE_NEWUSER_, 0, 0, 0, 0, 0);
    return NULL;
}

/* n threads and a child process, each calling unshare(CLONE_NEWUSER); the child also
 * calls mount. */
static int family(int n)
{
    pthread_t t[16];
    int status;
    pid_t child;
    for (int i = 0; i < n && i < 16; i++)
        if (pthread_create(&t[i], NULL, thread_unshare, NULL) != 0)
            return 3;
    for (int i = 0; i < n && i < 16; i++)
        pthread_join(t[i], NULL);
    fflush(stdout);
    child = fork();
    if (child == 0) {
        printf("child=%d mount=%d\n", (int)getpid(), call6(SYS_mount, 0, 0, 0, 0, 0, 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, &status, 0);
    printf("threads=%d child_status=%d\n", n, status);
    return 0;
}

static volatile sig_atomic_t trapped_nr = -1;

static void on_sigsys(int sig, siginfo_t *info, void *ctx)
{
    (void)sig;
    (void)ctx;
    trapped_nr = info->si_syscall;
}

/* getppid, which the trap profile traps, with a SIGSYS handler: the handler sees the
 * call, and the call returns what the handler left (ENOSYS by the kernel's default
 * return value for a skipped call). */
static int trap(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSYS, &sa, NULL);
    int err = call6(SYS_getppid, 0, 0, 0, 0, 0, 0);
    printf("getppid=%d trapped=%d\n", err, (int)trapped_nr);
    return 0;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

/* Waits for SIGUSR1, then reports it. */
static int wait_signal(void)
{
    sigset_t block, old;
    signal(SIGUSR1, on_signal);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    printf("ready\n");
    fflush(stdout);
    while (!got_signal)
        sigsuspend(&old);
    printf("got=%d\n", (int)got_signal);
    return 0;
}

/* A denied call, then (once a line arrives on stdin) another: with the supervisor
 * gone in between, the second fails with ENOSYS. "calling" is printed right before
 * the second call, for a test that stops the supervisor first. */
static int two_calls(void)
{
    char line[16];
    printf("pid=%d first=%d\n", (int)getpid(),
           call6(SYS_unshare, CLONE_NEWUSER_, 0, 0, 0, 0, 0));
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        return 4;
    printf("calling\n");
    fflush(stdout);
    printf("second=%d\n", call6(SYS_unshare, CLONE_NEWUSER_, 0, 0, 0, 0, 0));
    return 0;
}

/* Once a line arrives on stdin, many allowed calls: they finish whether or not the
 * supervisor is running, since allowed calls never reach it. */
static int allowed(void)
{
    char line[16];
    int failed = 0;
    printf("ready\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        return 4;
    for (int i = 0; i < 10000; i++)
        failed += call6(SYS_getpid, 0, 0, 0, 0, 0, 0) != 0;
    printf("done failed=%d\n", failed);
    return 0;
}

/* The return value and errno of a raw x86_64 call with six arguments. */
static void show(const char *name, long nr, long a)
{
    long rc;
    errno = 0;
    rc = syscall(nr, a, 0, 0, 0, 0, 0);
    printf("%s%s=%ld/%d", strcmp(name, "getuid") ? " " : "", name, rc, errno);
}

/* Calls the odd-actions profile sends to TRACE and ERRNO(0). */
static void odd_actions(void)
{
    show("getuid", SYS_getuid, 0);
    show("getgid", SYS_getgid, 0);
    show("unshare", SYS_unshare, CLONE_NEWUSER_);
    printf("\n");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) {
        fprintf(stderr, "report_probe: a mode is needed\n");
        return 2;
    }
    if (strcmp(argv[1], "calls") == 0) {
        calls();
        return 0;
    }
    if (strcmp(argv[1], "family") == 0 && argc > 2)
        return family(atoi(argv[2]));
    if (strcmp(argv[1], "trap") == 0)
        return trap();
    if (strcmp(argv[1], "kill") == 0) {
        /* getpgrp, which the trap profile kills. */
        printf("calling\n");
        fflush(stdout);
        call6(SYS_getpgrp, 0, 0, 0, 0, 0, 0);
        return 5;
    }
    if (strcmp(argv[1], "exit") == 0 && argc > 2)
        return atoi(argv[2]);
    if (strcmp(argv[1], "raise") == 0 && argc > 2) {
        signal(atoi(argv[2]), SIG_DFL);
        raise(atoi(argv[2]));
        return 6;
    }
    if (strcmp(argv[1], "wait-signal") == 0)
        return wait_signal();
    if (strcmp(argv[1], "two-calls") == 0)
        return two_calls();
    if (strcmp(argv[1], "allowed") == 0)
        return allowed();
    if (strcmp(argv[1], "odd-actions") == 0) {
        odd_actions();
        return 0;
    }
    fprintf(stderr, "report_probe: unknown mode %s\n", argv[1]);
    return 2;
}
