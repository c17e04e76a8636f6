/*
 * A preload library that does what libsecshim.so does on one of its two first-install
 * paths, inside the process the shim really runs in, and times each step:
 *
 *   STEPS_ENGINE and STEPS_PROFILE set: the SECLAUNCH_PROFILE path. Open the engine
 *   with dlopen as the shim does, call its entry point on the profile, install the
 *   program of the frame it returns.
 *   STEPS_PROGRAM set: the handoff path. Read a compiled program from a file with pread
 *   (the shim reads the launcher's memfd so) and install it.
 *
 * Installing is the shim's: NO_NEW_PRIVS, then seccomp(SET_MODE_FILTER) with TSYNC and
 * SPEC_ALLOW. Before it returns, the constructor writes one line to standard output:
 * CLOCK_MONOTONIC nanoseconds at its start, after opening the engine, after the call
 * (or the read), after installing and at its end, then the minor page faults of the
 * three steps. The parent, which timed fork and wait on the same clock, splits the
 * rest. HEADER_LEN (the handoff frame's header) and ENTRY (the engine's entry point)
 * come from the compiler's command line, so that they follow the Rust crates.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef long (*entry_fn)(const char *, const unsigned char **, char *, size_t);

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long faults(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

static void fail(const char *what)
{
    fprintf(stderr, "json-path-steps: %s\n", what);
    _exit(125);
}

/* The engine's entry point, opened as the shim opens it. */
static entry_fn open_engine(const char *engine)
{
    void *handle = dlopen(engine, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        fail(dlerror());
    entry_fn entry = (entry_fn)dlsym(handle, ENTRY);
    if (!entry)
        fail(dlerror());
    return entry;
}

__attribute__((constructor)) static void steps(void)
{
    static unsigned char program[8 * 4096];
    const char *engine = getenv("STEPS_ENGINE");
    long long t[5];
    long f[4];
    const unsigned char *insns = program;
    long len;

    t[0] = now_ns();
    f[0] = faults();
    entry_fn entry = engine ? open_engine(engine) : NULL;
    t[1] = now_ns();
    f[1] = faults();
    if (entry) {
        const unsigned char *frame = NULL;
        char err[512] = "the engine returned no filter";
        len = entry(getenv("STEPS_PROFILE"), &frame, err, sizeof err);
        if (len <= HEADER_LEN)
            fail(err);
        insns = frame + HEADER_LEN;
        len -= HEADER_LEN;
    } else {
        int fd = open(getenv("STEPS_PROGRAM"), O_RDONLY | O_CLOEXEC);
        len = fd < 0 ? -1 : pread(fd, program, sizeof program, 0);
        close(fd);
        if (len <= 0)
            fail("reading STEPS_PROGRAM");
    }
    t[2] = now_ns();
    f[2] = faults();
    struct sock_fprog prog = {(unsigned short)(len / 8), (struct sock_filter *)insns};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog))
        fail("installing the filter");
    t[3] = now_ns();
    f[3] = faults();
    t[4] = now_ns();
    printf("%lld %lld %lld %lld %lld %ld %ld %ld\n", t[0], t[1], t[2], t[3], t[4],
           f[1] - f[0], f[2] - f[1], f[3] - f[2]);
    fflush(stdout);
}
