/* The program the record tests run. argv[1] says what to do; each mode prints one line
 * that must come out the same when the program runs again under the recorded profile.
 *   plain: two threads, personality(0xffffffff), socket(AF_UNIX), an i386 getpid;
 *   extra: plain, then mount with NULL arguments (EFAULT if allowed, the profile's
 *          errno if not), a call plain never makes;
 *   ppid:  getppid alone. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Both threads and main meet here, so that every run waits on a futex: without it,
 * whether pthread_join has to wait (and so calls futex) depends on timing, and a
 * recording made without that call would fail the run that needs it. */
static pthread_barrier_t meet;

static void *square(void *arg)
{
    long n = (long)arg;
    pthread_barrier_wait(&meet);
    return (void *)(n * n);
}

static long threads(void)
{
    pthread_t t[2];
    long sum = 0;
    if (pthread_barrier_init(&meet, NULL, 3) != 0)
        return -1;
    for (long i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, square, (void *)(i + 2)) != 0)
            return -1;
    pthread_barrier_wait(&meet);
    for (int i = 0; i < 2; i++) {
        void *out;
        if (pthread_join(t[i], &out) != 0)
            return -1;
        sum += (long)out;
    }
    return sum;
}

#ifdef __x86_64__
/* i386 getpid (20) through int $0x80: the same pid as the x86_64 call. */
static long i386_getpid(void)
{
    long rc;
    __asm__ volatile("int $0x80" : "=a"(rc) : "a"(20L) : "memory");
    return rc;
}
#endif

static void plain(void)
{
    printf("threads=%ld", threads());
    printf(" personality=%s", personality(0xffffffff) >= 0 ? "ok" : strerror(errno));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    printf(" socket=%s", fd >= 0 ? "ok" : strerror(errno));
    if (fd >= 0)
        close(fd);
#ifdef __x86_64__
    printf(" i386_getpid=%s", i386_getpid() == getpid() ? "same" : "differs");
#endif
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "plain";
    if (strcmp(mode, "ppid") == 0) {
        /* glibc's getppid returns the kernel's -errno without setting errno. */
        printf("ppid=%s\n", getppid() > 0 ? "ok" : "denied");
        return 0;
    }
    plain();
    if (strcmp(mode, "extra") == 0) {
        errno = 0;
        long rc = syscall(SYS_mount, 0, 0, 0, 0, 0);
        printf(" mount=%d", rc < 0 ? errno : 0);
    }
    printf("\n");
    return 3;
}
