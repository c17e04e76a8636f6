/* Two ways the environment can differ from the kernel's when the shim's constructor
 * runs, for the shim tests.
 *   Built with -DCLEARENV_LIBRARY as a shared library: its constructor empties the
 *   environment (glibc's clearenv leaves `environ` null), before the shim's when it
 *   comes after the shim in LD_PRELOAD.
 *   Built as a program: `environment_changers SHIM` sets SECLAUNCH_PROFILE=default
 *   from a string in a read-only page mapped high in the address space (above the
 *   heap, as the kernel's strings are), then dlopens SHIM, whose constructor then
 *   gets `environ` (not the kernel's array), and prints the Seccomp line of its
 *   status. */
#define _GNU_SOURCE
#include <stdlib.h>

#ifdef CLEARENV_LIBRARY
__attribute__((constructor)) static void empty_the_environment(void)
{
    clearenv();
}
#else
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    char line[256];
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (argc < 2 || page == MAP_FAILED)
        return 2;
    strcpy(page, "SECLAUNCH_PROFILE=default");
    if (mprotect(page, 4096, PROT_READ) != 0 || putenv(page) != 0)
        return 2;
    if (!dlopen(argv[1], RTLD_NOW)) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 3;
    }
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, "Seccomp:", 8) == 0)
            fputs(line, stdout);
    return 0;
}
#endif
