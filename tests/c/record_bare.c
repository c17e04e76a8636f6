/* A static program without a C library whose every syscall is known: getpid, then
 * exit_group(7). A recording of it holds exactly these two. */
#ifdef __x86_64__
static long call1(long nr, long a)
{
    long rc;
    __asm__ volatile("syscall" : "=a"(rc) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
    return rc;
}
#define NR_GETPID 39
#define NR_EXIT_GROUP 231
#elif defined(__aarch64__)
static long call1(long nr, long a)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8) : "memory");
    return x0;
}
#define NR_GETPID 172
#define NR_EXIT_GROUP 94
#endif

void _start(void)
{
    call1(NR_GETPID, 0);
    for (;;)
        call1(NR_EXIT_GROUP, 7);
}
