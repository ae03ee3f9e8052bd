//! `remote conformance` and `remote demo`.

use remote_host::conformance::{Outcome, SuiteOptions, run_suite};
use remote_host::{Backend, OpenFlags};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::ConformanceArgs;

/// Runs the suite and prints a table (or JSON); 1 when any case failed.
pub async fn conformance(backend: &dyn Backend, args: &ConformanceArgs) -> anyhow::Result<u8> {
    let opts = SuiteOptions {
        parent_dir: args.dir.clone(),
        filter: args.filter.clone(),
        ..SuiteOptions::default()
    };
    let report = run_suite(backend, &opts).await;
    anyhow::ensure!(
        !report.cases.is_empty(),
        "no case matches the filter {:?}",
        args.filter.as_deref().unwrap_or_default()
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("conformance of {} ({})", report.addr, report.backend);
        for c in &report.cases {
            let (word, detail) = match &c.outcome {
                Outcome::Pass => ("pass", ""),
                Outcome::Fail(d) => ("FAIL", d.as_str()),
                Outcome::Unsupported(d) => ("unsupported", d.as_str()),
            };
            println!("  {:<32} {word:<11} {:>7} ms  {detail}", c.name, c.millis);
        }
        let (p, f, u) = report.counts();
        println!("{p} passed, {f} failed, {u} unsupported");
    }
    Ok(if report.failed().next().is_some() {
        1
    } else {
        0
    })
}

/// Shows, step by step, what the tool does against a target.
pub async fn demo(b: &dyn Backend) -> anyhow::Result<u8> {
    println!(
        "== target: {} ({}) as {:?}",
        b.addr(),
        b.backend_type(),
        b.user()
    );
    let p = b.detect_platform().await?;
    println!(
        "== platform: os={} arch={} variant={:?}",
        p.os, p.arch, p.variant
    );

    println!("== exec: uname -sm; echo \"$GREETING\" from a variable; exit 3");
    let mut s = b.new_session().await?;
    s.setenv("GREETING", "hello 'quoted' $world")?;
    let mut out = s.stdout()?;
    s.start("uname -sm; echo \"$GREETING\"; exit 3").await?;
    let mut text = String::new();
    out.read_to_string(&mut text).await?;
    let status = s.wait().await?;
    s.close().await?;
    print!("{text}");
    println!("   -> {status:?}");

    println!("== exec with stdin: tr a-z A-Z");
    let mut s = b.new_session().await?;
    let mut input = s.stdin()?;
    let mut out = s.stdout()?;
    s.start("tr a-z A-Z").await?;
    input.write_all(b"piped through the target\n").await?;
    input.shutdown().await?;
    drop(input);
    let mut text = String::new();
    out.read_to_string(&mut text).await?;
    s.wait().await?;
    s.close().await?;
    print!("   {text}");

    let f = b.files().await?;
    let dir = format!("/tmp/remote-demo-{}", std::process::id());
    println!("== files in {dir}");
    f.mkdir(&dir, 0o755).await?;
    let steps = async {
        let file = format!("{dir}/notes.txt");
        let mut w = f.open_file(&file, OpenFlags::CREATE, 0o640).await?;
        w.write(b"first line\n").await?;
        w.write_at(11, b"second line\n").await?;
        w.sync().await?;
        w.close().await?;
        let st = f.stat(&file).await?;
        println!(
            "   wrote {file}: {} bytes, mode {:o}, uid {}",
            st.size, st.mode, st.uid
        );
        f.symlink("notes.txt", &format!("{dir}/latest")).await?;
        f.rename(&file, &format!("{dir}/notes-v2.txt")).await?;
        f.symlink("notes-v2.txt", &format!("{dir}/current")).await?;
        for e in f.read_dir(&dir).await? {
            println!("   {:<14} {:?} {} bytes", e.name, e.stat.kind, e.stat.size);
        }
        let mut r = f.open(&format!("{dir}/current")).await?;
        let content = r.read(1024).await?;
        r.close().await?;
        print!(
            "   read back through the symlink: {}",
            String::from_utf8_lossy(&content)
        );
        let fs = f.statfs(&dir).await?;
        println!(
            "   file system: {} of {} MiB free",
            (fs.bavail * fs.frsize) >> 20,
            (fs.blocks * fs.frsize) >> 20
        );
        anyhow::Ok(())
    }
    .await;
    for name in ["current", "latest", "notes-v2.txt", "notes.txt"] {
        let _ = f.remove(&format!("{dir}/{name}")).await;
    }
    f.remove(&dir).await?;
    steps?;
    println!("== cleaned up {dir}");
    Ok(0)
}
