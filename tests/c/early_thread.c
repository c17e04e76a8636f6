/* A preloaded library whose constructor starts a thread before libsecshim.so's
 * constructor runs. early_thread_check(), found by the probe with dlsym, has the
 * thread make a denied call and returns what it saw. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int asked;
static long mode_at_start = -1;
static int denied;
static long mode_now = -1;

static long seccomp_mode(void)
{
    char line[256];
    long mode = -1;
    FILE *f = fopen("/proc/thread-self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Seccomp:", 8) == 0)
            sscanf(line + 8, "%ld", &mode);
    fclose(f);
    return mode;
}

static void *body(void *arg)
{
    (void)arg;
    __atomic_store_n(&mode_at_start, seccomp_mode(), __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&lock);
    while (!asked)
        pthread_cond_wait(&go, &lock);
    pthread_mutex_unlock(&lock);
    mode_now = seccomp_mode();
    errno = 0;
    syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0UL);
    denied = errno;
    return NULL;
}

__attribute__((constructor)) static void start(void)
{
    pthread_create(&thread, NULL, body, NULL);
    /* Wait until the thread has looked at its own mode, before any filter exists. */
    while (__atomic_load_n(&mode_at_start, __ATOMIC_SEQ_CST) == -1)
        usleep(1000);
}

/* Prints "start=<mode when the thread started> now=<mode> denied=<errno>". */
void early_thread_check(void)
{
    pthread_mutex_lock(&lock);
    asked = 1;
    pthread_cond_signal(&go);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    printf("start=%ld now=%ld denied=%d\n", mode_at_start, mode_now, denied);
}
