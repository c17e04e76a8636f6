//! The reference: the filter runc would load for a resolved profile, built with
//! libseccomp itself (`libcontainer/seccomp/seccomp_linux.go InitSeccomp`) and with
//! runc's `-ENOSYS` stub (`patchbpf/enosys_linux.go`) written out here from its
//! description, independently of seclaunch's code generator.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use profiles::action::Action;
use profiles::arch::{Abi, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use profiles::bpf::{self, sock_filter};
use profiles::db::{CmpOp, Cond};
use profiles::resolve::{Resolved, Rule};

pub fn scmp_arch(abi: Abi) -> ScmpArch {
    match abi {
        Abi::X86_64 => ScmpArch::X8664,
        Abi::X86 => ScmpArch::X86,
        Abi::X32 => ScmpArch::X32,
        Abi::Aarch64 => ScmpArch::Aarch64,
        Abi::Arm => ScmpArch::Arm,
    }
}

fn scmp_action(action: Action) -> ScmpAction {
    match action {
        Action::KillThread => ScmpAction::KillThread,
        Action::KillProcess => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Errno(e) => ScmpAction::Errno(i32::from(e)),
        Action::Trace(d) => ScmpAction::Trace(d),
        Action::Allow => ScmpAction::Allow,
        Action::Log => ScmpAction::Log,
        Action::Notify => ScmpAction::Notify,
    }
}

fn scmp_cond(cond: &Cond) -> ScmpArgCompare {
    let op = match cond.op {
        CmpOp::Ne => ScmpCompareOp::NotEqual,
        CmpOp::Lt => ScmpCompareOp::Less,
        CmpOp::Le => ScmpCompareOp::LessOrEqual,
        CmpOp::Eq => ScmpCompareOp::Equal,
        CmpOp::Ge => ScmpCompareOp::GreaterEqual,
        CmpOp::Gt => ScmpCompareOp::Greater,
        CmpOp::MaskedEq => ScmpCompareOp::MaskedEqual(cond.datum_a),
    };
    let datum = if cond.op == CmpOp::MaskedEq {
        cond.datum_b
    } else {
        cond.datum_a
    };
    ScmpArgCompare::new(u32::from(cond.arg), op, datum)
}

/// Whether libseccomp knows `name` on `abi`: it resolves to a real number there, or to
/// one of the pseudo numbers it files the i386 socket and IPC calls under.
pub fn libseccomp_knows_on(abi: Abi, name: &str) -> bool {
    match ScmpSyscall::from_name_by_arch(name, scmp_arch(abi)) {
        Ok(nr) => i32::from(nr) >= 0 || profiles::db::is_multiplexed(abi, name),
        Err(_) => false,
    }
}

/// The program runc would load, or the error that would stop the container.
pub fn runc_program(resolved: &Resolved) -> Result<Vec<sock_filter>, String> {
    let level = if resolved.rules.len() > 32 { 2 } else { 1 };
    runc_program_at(resolved, level)
}

/// [`runc_program`] with libseccomp's optimize level forced (1: linear, 2: binary tree).
pub fn runc_program_at(resolved: &Resolved, level: u32) -> Result<Vec<sock_filter>, String> {
    let mut filter = libseccomp_program_at(resolved, level)?;
    let mut program = enosys_stub(resolved);
    program.append(&mut filter);
    Ok(program)
}

/// libseccomp's own program for the rules, built as runc builds it, without the stub.
pub fn libseccomp_program_at(resolved: &Resolved, level: u32) -> Result<Vec<sock_filter>, String> {
    let e = |what: &str, err: libseccomp::error::SeccompError| format!("{what}: {err}");
    let default = resolved.default_action;
    let mut ctx = ScmpFilterContext::new(scmp_action(default)).map_err(|x| e("init", x))?;
    ctx.set_ctl_nnp(false).map_err(|x| e("nnp", x))?;
    let native = resolved.abis[0];
    if native != Abi::native() {
        ctx.add_arch(scmp_arch(native)).map_err(|x| e("arch", x))?;
        ctx.remove_arch(ScmpArch::Native)
            .map_err(|x| e("arch", x))?;
    }
    for abi in &resolved.abis[1..] {
        ctx.add_arch(scmp_arch(*abi)).map_err(|x| e("arch", x))?;
    }
    ctx.set_ctl_optimize(level).map_err(|x| e("optimize", x))?;
    for rule in &resolved.rules {
        add_rule(&mut ctx, rule, default)?;
    }
    export(&ctx)
}

fn add_rule(ctx: &mut ScmpFilterContext, rule: &Rule, default: Action) -> Result<(), String> {
    if rule.action == default {
        return Ok(());
    }
    // runc resolves on the native ABI; libseccomp translates by name to the others.
    let Ok(sys) = ScmpSyscall::from_name(&rule.name) else {
        return Ok(());
    };
    if let Some((_, index)) = rule.bad_index {
        return Err(format!("index {index} out of range"));
    }
    let action = scmp_action(rule.action);
    let fail = |err: libseccomp::error::SeccompError| format!("rule {}: {err}", rule.name);
    if rule.conds.is_empty() {
        return ctx.add_rule(action, sys).map(|_| ()).map_err(fail);
    }
    let mut seen = [false; 256];
    let repeated = rule
        .conds
        .iter()
        .any(|c| std::mem::replace(&mut seen[c.arg as usize], true));
    if repeated {
        for cond in &rule.conds {
            ctx.add_rule_conditional(action, sys, &[scmp_cond(cond)])
                .map_err(fail)?;
        }
        Ok(())
    } else {
        let conds: Vec<_> = rule.conds.iter().map(scmp_cond).collect();
        ctx.add_rule_conditional(action, sys, &conds)
            .map(|_| ())
            .map_err(fail)
    }
}

fn export(ctx: &ScmpFilterContext) -> Result<Vec<sock_filter>, String> {
    let mut file = tempfile()?;
    ctx.export_bpf(&file).map_err(|e| format!("export: {e}"))?;
    file.rewind().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok(profiles::bpf::from_bytes(&bytes))
}

fn tempfile() -> Result<std::fs::File, String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("seclaunch-ref-{}-{n}.bpf", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

/// runc's thresholds: per ABI, the largest number libseccomp resolves any rule's name to,
/// every rule counted whatever its action; none when the largest is 0.
pub fn runc_thresholds(resolved: &Resolved) -> BTreeMap<Abi, u32> {
    let mut out = BTreeMap::new();
    if matches!(
        resolved.default_action,
        Action::Allow | Action::Log | Action::Trace(_)
    ) {
        return out;
    }
    for abi in &resolved.abis {
        let numbers = resolved.rules.iter().filter_map(|r| {
            let nr = ScmpSyscall::from_name_by_arch(&r.name, scmp_arch(*abi)).ok()?;
            u32::try_from(i32::from(nr)).ok()
        });
        if let Some(max) = numbers.max().filter(|m| *m != 0) {
            out.insert(*abi, max);
        }
    }
    out
}

/// The stub as runc prepends it: per audit arch, `nr > max` returns ENOSYS; on x86_64,
/// bit 30 selects the x32 threshold, and a mode without one skips the stub.
fn enosys_stub(resolved: &Resolved) -> Vec<sock_filter> {
    let max = runc_thresholds(resolved);
    if max.is_empty() {
        return Vec::new();
    }
    let enosys = Action::Errno(libc::ENOSYS as u16).ret();
    // Each section is self-contained: it ends by returning ENOSYS or jumping to the
    // filter, which starts right after the stub. `FILTER` marks those jumps.
    const FILTER: u32 = u32::MAX;
    let mut sections: Vec<(u32, Vec<sock_filter>)> = Vec::new();
    let jgt = |k, jt, jf| bpf::jump(bpf::JMP | bpf::JGT, k, jt, jf);
    let jset = |k, jt, jf| bpf::jump(bpf::JMP | bpf::JSET, k, jt, jf);
    let to_filter = bpf::stmt(bpf::JMP | bpf::JA, FILTER);
    let x64 = max.get(&Abi::X86_64).copied();
    let x32 = max.get(&Abi::X32).copied();
    let x86_section = match (x64, x32) {
        (Some(m64), Some(m32)) => Some(vec![
            jset(X32_SYSCALL_BIT, 2, 0),
            jgt(m64, 3, 2),
            to_filter,
            jgt(m32, 1, 0),
            to_filter,
            bpf::ret(enosys),
        ]),
        (Some(m64), None) => Some(vec![
            jset(X32_SYSCALL_BIT, 1, 0),
            jgt(m64, 1, 0),
            to_filter,
            bpf::ret(enosys),
        ]),
        (None, Some(m32)) => Some(vec![
            jset(X32_SYSCALL_BIT, 0, 1),
            jgt(m32, 1, 0),
            to_filter,
            bpf::ret(enosys),
        ]),
        (None, None) => None,
    };
    if let Some(body) = x86_section {
        sections.push((AUDIT_ARCH_X86_64, body));
    }
    for (abi, m) in &max {
        if matches!(abi, Abi::X86_64 | Abi::X32) {
            continue;
        }
        sections.push((
            abi.audit_arch(),
            vec![jgt(*m, 1, 0), to_filter, bpf::ret(enosys)],
        ));
    }
    // Layout: ld arch; one jeq per section; ja filter; sections (each: ld nr; body).
    let mut out = vec![bpf::load(bpf::data::ARCH)];
    let n = sections.len();
    let mut start = n + 2; // first section, counted from the instruction after `ld arch`
    for (i, (arch, body)) in sections.iter().enumerate() {
        let here = 1 + i;
        out.push(bpf::jump(
            bpf::JMP | bpf::JEQ,
            *arch,
            (start - here - 1) as u8,
            0,
        ));
        start += 1 + body.len();
    }
    out.push(to_filter);
    for (_, body) in &sections {
        out.push(bpf::load(bpf::data::NR));
        out.extend(body.iter().copied());
    }
    let end = out.len();
    for (pc, insn) in out.iter_mut().enumerate() {
        if insn.code == bpf::JMP | bpf::JA && insn.k == FILTER {
            insn.k = (end - pc - 1) as u32;
        }
    }
    out
}
