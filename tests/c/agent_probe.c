/* The program the seccomp agent tests run under a profile that sends getppid, uname
 * and getuid to the agent. With an argument, it first creates that file, so a test can
 * tell whether it ran at all. It prints its pid and, for each call, the raw return and
 * the errno: uname gets a NULL buffer, so an allowed call fails with EFAULT and an
 * agent's answer shows as itself. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void call(const char *name, long nr, long arg)
{
    errno = 0;
    long rc = syscall(nr, arg);
    printf(" %s=%ld/%d", name, rc, rc < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        int fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            perror(argv[1]);
            return 2;
        }
        close(fd);
    }
    printf("pid=%d", (int)getpid());
    call("getppid", SYS_getppid, 0);
    call("uname", SYS_uname, 0);
    call("getuid", SYS_getuid, 0);
    printf(" geteuid=%ld\n", (long)syscall(SYS_geteuid));
    return 0;
}
