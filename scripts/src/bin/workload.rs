//! Fork/exec-heavy workloads, plain and under `seclaunch` with the embedded default,
//! medians of interleaved rounds:
//! - `sh -c` running `/bin/true` 500 times;
//! - `make -j2` of a small generated C project (24 files), from clean each round.
//!
//! Usage: `workload [--quick]`.

use std::path::{Path, PathBuf};

use seclaunch_scripts::timing::{measure, ratio, table, variant, Variant};
use seclaunch_tests::artifacts::launcher;
use seclaunch_tests::run::clean_command;

const LOOP: &str = "i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done";
const FILES: usize = 24;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 15 };
    let work = std::env::temp_dir().join(format!("seclaunch-workload-{}", std::process::id()));
    let project = c_project(&work);
    let launcher = launcher();
    let make = |under: Option<PathBuf>, project: PathBuf| {
        move || {
            let script = format!(
                "make -s -C {0} clean && make -s -j2 -C {0}",
                project.display()
            );
            let mut command = match &under {
                Some(launcher) => {
                    let mut c = clean_command(launcher);
                    c.args(["/bin/sh", "-c"]);
                    c
                }
                None => {
                    let mut c = clean_command(Path::new("/bin/sh"));
                    c.arg("-c");
                    c
                }
            };
            command.arg(script);
            command
        }
    };
    let variants: Vec<Variant> = vec![
        variant("sh -c: /bin/true 500 times", || {
            let mut c = clean_command(Path::new("/bin/sh"));
            c.args(["-c", LOOP]);
            c
        }),
        variant("seclaunch sh -c: /bin/true 500 times", {
            let launcher = launcher.clone();
            move || {
                let mut c = clean_command(&launcher);
                c.args(["/bin/sh", "-c", LOOP]);
                c
            }
        }),
        variant(
            &format!("make -j2, {FILES} C files"),
            make(None, project.clone()),
        ),
        variant(
            &format!("seclaunch make -j2, {FILES} C files"),
            make(Some(launcher.clone()), project.clone()),
        ),
    ];
    let medians = measure(&variants, rounds);
    println!("### Fork/exec-heavy workloads ({rounds} interleaved rounds)\n");
    table(&variants, &medians, &[(0, "sh loop"), (2, "make")]);
    println!(
        "under seclaunch / plain: sh loop {:.3}×, make {:.3}×\n",
        ratio(medians[1], medians[0]),
        ratio(medians[3], medians[2])
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// A C project of `FILES` small sources and a Makefile, in `work`.
fn c_project(work: &Path) -> PathBuf {
    let dir = work.join("project");
    std::fs::create_dir_all(&dir).expect("creates the project");
    let mut objects = Vec::new();
    for i in 0..FILES {
        let body = format!(
            "#include <stdio.h>\n#include <string.h>\n\
             int f{i}(const char *s) {{ char b[64]; snprintf(b, sizeof b, \"%s{i}\", s); \
             return (int)strlen(b); }}\n"
        );
        std::fs::write(dir.join(format!("f{i}.c")), body).unwrap();
        objects.push(format!("f{i}.o"));
    }
    let calls: String = (0..FILES).map(|i| format!("n += f{i}(\"x\");\n")).collect();
    let decls: String = (0..FILES)
        .map(|i| format!("int f{i}(const char *);\n"))
        .collect();
    let main = format!("{decls}int main(void) {{ int n = 0;\n{calls}return n == 0; }}\n");
    std::fs::write(dir.join("main.c"), main).unwrap();
    objects.push("main.o".to_string());
    let makefile = format!(
        "OBJS = {objs}\nprog: $(OBJS)\n\tcc -o $@ $(OBJS)\n%.o: %.c\n\tcc -O1 -c -o $@ $<\n\
         clean:\n\trm -f prog $(OBJS)\n",
        objs = objects.join(" ")
    );
    std::fs::write(dir.join("Makefile"), makefile).unwrap();
    dir
}
