/* Builds a filter with libseccomp the way runc does, from a rule list seclaunch writes,
 * and times the two phases: creating the context and adding the rules, then exporting
 * the BPF. Prints the medians in microseconds: "<add> <export> <total>".
 *
 * Usage: libseccomp-build RULES OPTIMIZE ROUNDS [OUT.bpf]
 *
 * RULES, one item a line (numbers in decimal):
 *   default <action>
 *   native <arch token>
 *   arch <arch token>
 *   rule <name> <action> <count> [<arg> <op> <datum_a> <datum_b>]...
 * Actions are SCMP_ACT_* values, ops SCMP_CMP_* values. Rules whose action is the
 * default are left out by the writer, and rules repeating an argument are already split,
 * as runc does. Names libseccomp does not know are skipped, as runc skips them. */
#define _GNU_SOURCE
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 4096
#define MAX_ARCHES 8

struct rule {
    char name[64];
    uint32_t action;
    unsigned count;
    struct scmp_arg_cmp conds[6];
};

static struct rule rules[MAX_RULES];
static unsigned nrules;
static uint32_t default_action, native, arches[MAX_ARCHES];
static unsigned narches;

static void die(const char *what)
{
    fprintf(stderr, "libseccomp-build: %s\n", what);
    exit(1);
}

static void read_rules(const char *path)
{
    char kind[16];
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open the rule list");
    while (fscanf(f, "%15s", kind) == 1) {
        if (strcmp(kind, "default") == 0) {
            if (fscanf(f, "%u", &default_action) != 1)
                die("bad default");
        } else if (strcmp(kind, "native") == 0) {
            if (fscanf(f, "%u", &native) != 1)
                die("bad native");
        } else if (strcmp(kind, "arch") == 0) {
            if (narches == MAX_ARCHES || fscanf(f, "%u", &arches[narches++]) != 1)
                die("bad arch");
        } else if (strcmp(kind, "rule") == 0) {
            struct rule *r = &rules[nrules];
            if (nrules == MAX_RULES ||
                fscanf(f, "%63s %u %u", r->name, &r->action, &r->count) != 3 || r->count > 6)
                die("bad rule");
            for (unsigned i = 0; i < r->count; i++) {
                unsigned arg, op;
                unsigned long long a, b;
                if (fscanf(f, "%u %u %llu %llu", &arg, &op, &a, &b) != 4)
                    die("bad condition");
                r->conds[i] = (struct scmp_arg_cmp){arg, (enum scmp_compare)op, a, b};
            }
            nrules++;
        } else {
            die("unknown line");
        }
    }
    fclose(f);
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static scmp_filter_ctx build(unsigned optimize)
{
    scmp_filter_ctx ctx = seccomp_init(default_action);
    if (!ctx || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0))
        die("seccomp_init");
    if (native != seccomp_arch_native()) {
        if (seccomp_arch_add(ctx, native) || seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE))
            die("native arch");
    }
    for (unsigned i = 0; i < narches; i++)
        if (seccomp_arch_add(ctx, arches[i]) < 0)
            die("seccomp_arch_add");
    if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, optimize))
        die("optimize");
    for (unsigned i = 0; i < nrules; i++) {
        int nr = seccomp_syscall_resolve_name(rules[i].name);
        if (nr == __NR_SCMP_ERROR)
            continue;
        if (seccomp_rule_add_array(ctx, rules[i].action, nr, rules[i].count, rules[i].conds))
            die("seccomp_rule_add_array");
    }
    return ctx;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, by_value);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    if (argc < 4)
        die("usage: libseccomp-build RULES OPTIMIZE ROUNDS [OUT.bpf]");
    read_rules(argv[1]);
    unsigned optimize = (unsigned)atoi(argv[2]), rounds = (unsigned)atoi(argv[3]);
    if (rounds == 0)
        die("ROUNDS must be positive");
    double *add = calloc(rounds, sizeof *add), *export = calloc(rounds, sizeof *export);
    double *total = calloc(rounds, sizeof *total);
    int out = memfd_create("bpf", 0);
    if (!add || !export || !total || out < 0)
        die("out of memory");
    for (unsigned r = 0; r < rounds; r++) {
        double t0 = now_us();
        scmp_filter_ctx ctx = build(optimize);
        double t1 = now_us();
        if (ftruncate(out, 0) || lseek(out, 0, SEEK_SET) || seccomp_export_bpf(ctx, out))
            die("seccomp_export_bpf");
        double t2 = now_us();
        add[r] = t1 - t0;
        export[r] = t2 - t1;
        total[r] = t2 - t0;
        if (r + 1 == rounds && argc > 4) {
            FILE *f = fopen(argv[4], "w");
            if (!f || seccomp_export_bpf(ctx, fileno(f)))
                die("writing OUT.bpf");
            fclose(f);
        }
        seccomp_release(ctx);
    }
    printf("%.1f %.1f %.1f\n", median(add, rounds), median(export, rounds),
           median(total, rounds));
    return 0;
}
