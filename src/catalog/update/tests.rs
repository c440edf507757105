//! `catalog::update`: sources, hashes, the not-older and not-lowered
//! rules, bounded and deadline-bound reads, storing and the override.

use super::*;

const EMBEDDED: &str = include_str!("../../../data/catalog.toml");

/// The whole line of the (unverified) 2019 CU15 Aug26SU entry, its
/// provenance comment included.
fn aug26su() -> &'static str {
    let start = EMBEDDED
        .find("  { name = \"Aug26SU\", kind = \"SU\", build = \"15.2.1748.49\"")
        .expect("fixture anchor missing");
    let len = EMBEDDED[start..].find('\n').unwrap() + 1;
    &EMBEDDED[start..start + len]
}

/// The embedded file plus a fabricated SU (test data, not a real build).
fn newer() -> String {
    let line = aug26su();
    EMBEDDED.replacen(
        line,
        &format!("{line}  {{ name = \"Zzz99SU\", kind = \"SU\", build = \"15.2.1748.60\", released = \"2026-09-08\" }},\n"),
        1,
    )
}

fn write(dir: &Path, name: &str, text: &str) -> Source {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    Source::File(path)
}

#[test]
fn source_kinds() {
    assert_eq!(
        Source::parse("https://contoso.local/catalog.toml").unwrap(),
        Source::Url("https://contoso.local/catalog.toml".into())
    );
    assert!(Source::parse("HTTP://contoso.local/c.toml")
        .unwrap()
        .is_plain_http());
    assert_eq!(
        Source::parse("data/catalog.toml").unwrap(),
        Source::File("data/catalog.toml".into())
    );
    let err = Source::parse("ftp://contoso.local/c.toml").unwrap_err();
    assert!(err.to_string().contains("ftp:// is not supported"), "{err}");
    assert!(Source::parse("").is_err());
}

#[test]
fn sha256_argument_and_digest() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        parse_sha256(" BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD ").unwrap(),
        sha256_hex(b"abc")
    );
    assert!(matches!(
        parse_sha256("abc"),
        Err(UpdateError::BadSha256 { .. })
    ));
    assert!(parse_sha256(&"g".repeat(64)).is_err());
}

#[test]
fn older_catalogues_are_refused() {
    let embedded = Catalog::embedded();
    assert_eq!(check_not_older(embedded, embedded), Ok(()));
    let newer = Catalog::from_toml(&newer()).unwrap();
    assert_eq!(check_not_older(&newer, embedded), Ok(()));
    assert_eq!(
        added_entries(&newer, embedded),
        ["2019-CU15 Zzz99SU".to_string()]
    );
    // The newer one has an SU the embedded one lacks: embedded is older.
    assert_eq!(
        check_not_older(embedded, &newer).unwrap_err(),
        "it does not list 2019-CU15 Zzz99SU"
    );
    let without_aug = EMBEDDED.replace(aug26su(), "");
    assert_ne!(without_aug, EMBEDDED, "fixture must remove an entry");
    let fewer = Catalog::from_toml(&without_aug).unwrap();
    assert_eq!(
        check_not_older(&fewer, embedded).unwrap_err(),
        "it does not list 2019-CU15 Aug26SU"
    );
}

#[test]
fn update_stores_exact_bytes_and_reset_removes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let text = newer();
    let source = write(tmp.path(), "new.toml", &text);
    let stored = update(
        &source,
        Some(&sha256_hex(text.as_bytes())),
        &config,
        Catalog::embedded(),
        false,
    )
    .unwrap();
    assert_eq!(stored.path, config.join("catalog.toml"));
    assert_eq!(std::fs::read_to_string(&stored.path).unwrap(), text);
    assert_eq!(stored.added, ["2019-CU15 Zzz99SU"]);
    assert_eq!(stored.cus, 63);

    let active = ActiveCatalog::load(Some(&config)).unwrap();
    assert_eq!(active.override_path(), Some(stored.path.as_path()));
    assert!(active
        .catalog()
        .cu_by_id("2019-CU15")
        .unwrap()
        .su_by_name("Zzz99SU")
        .is_some());

    assert_eq!(reset(&config).unwrap(), Some(stored.path.clone()));
    assert_eq!(reset(&config).unwrap(), None);
    let active = ActiveCatalog::load(Some(&config)).unwrap();
    assert_eq!(active.override_path(), None);
    assert!(std::ptr::eq(active.catalog(), Catalog::embedded()));
}

#[test]
fn refusals_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let text = newer();
    let source = write(tmp.path(), "new.toml", &text);
    let wrong = "0".repeat(64);
    let err = update(&source, Some(&wrong), &config, Catalog::embedded(), false).unwrap_err();
    match &err {
        UpdateError::HashMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &sha256_hex(text.as_bytes()));
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }

    let future = write(
        tmp.path(),
        "future.toml",
        &text.replace("cu_roll = \">=0.1\"", "cu_roll = \">=9\""),
    );
    let err = update(&future, None, &config, Catalog::embedded(), false).unwrap_err();
    assert!(
        matches!(
            &err,
            UpdateError::Invalid {
                error: CatalogError::Compatibility { .. },
                ..
            }
        ),
        "{err:?}"
    );

    let older = write(
        tmp.path(),
        "older.toml",
        &EMBEDDED.replace("\"Aug26SU\"", "\"Aug26SUv2\""),
    );
    let err = update(&older, None, &config, Catalog::embedded(), false).unwrap_err();
    assert!(matches!(&err, UpdateError::Older { .. }), "{err:?}");
    assert!(err.to_string().contains("does not list 2019-CU15 Aug26SU"));

    let binary = tmp.path().join("binary.toml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
    let err = update(
        &Source::File(binary),
        None,
        &config,
        Catalog::embedded(),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, UpdateError::NotText { .. }), "{err:?}");

    let missing = Source::File(tmp.path().join("missing.toml"));
    let err = update(&missing, None, &config, Catalog::embedded(), false).unwrap_err();
    assert!(matches!(err, UpdateError::ReadFile { .. }), "{err:?}");

    assert!(!config.exists(), "a refused update must store nothing");
}

#[test]
fn oversized_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.toml");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(MAX_CATALOG_BYTES + 1).unwrap();
    let err = fetch(&Source::File(big)).unwrap_err();
    assert!(matches!(err, UpdateError::TooLarge { .. }), "{err:?}");
}

#[test]
fn broken_or_stale_override_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = override_path(tmp.path());
    std::fs::write(&path, "format = 1\ncu_roll = \">=0.1\"\ncu = [\n").unwrap();
    let err = ActiveCatalog::load(Some(tmp.path())).unwrap_err();
    assert!(matches!(err, UpdateError::BrokenOverride { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("catalogue line"), "{message}");
    assert!(message.contains("--reset"), "{message}");

    std::fs::write(&path, EMBEDDED.replace("\"Aug26SU\"", "\"Aug26SUv2\"")).unwrap();
    let err = ActiveCatalog::load(Some(tmp.path())).unwrap_err();
    assert!(
        err.to_string()
            .contains("older than the catalogue built into"),
        "{err}"
    );
}

#[test]
fn no_directory_means_embedded() {
    let active = ActiveCatalog::load(None).unwrap();
    assert!(std::ptr::eq(active.catalog(), Catalog::embedded()));
    assert_eq!(active.override_path(), None);
}

#[test]
fn a_fifo_or_a_device_is_refused_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("fifo.toml");
    // mkfifo(1) is in coreutils; where it is missing only /dev/zero is tried.
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let mut refused = vec![tmp.path().to_path_buf()];
    if made {
        refused.push(fifo);
    }
    if Path::new("/dev/zero").exists() {
        refused.push("/dev/zero".into());
    }
    for path in refused {
        let err = fetch(&Source::File(path.clone())).unwrap_err();
        assert!(
            matches!(&err, UpdateError::ReadFile { detail, .. } if detail.contains("not a regular file")),
            "{}: {err:?}",
            path.display()
        );
    }
}

/// Serves one request on loopback: reads its head, then hands the socket
/// to `answer`. Returns the catalogue's URL.
fn serve_once(answer: impl FnOnce(std::net::TcpStream) + Send + 'static) -> String {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        answer(s);
    });
    format!("http://{addr}/catalog.toml")
}

#[test]
fn a_slowly_dripped_body_is_cut_off_at_the_total_deadline() {
    let url = serve_once(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        // One byte every 100 ms: each read succeeds, the whole never ends.
        for _ in 0..600 {
            if s.write_all(b"#").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let started = std::time::Instant::now();
    let err = fetch_url_within(&url, Duration::from_secs(1)).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(&err, UpdateError::Fetch { detail, .. } if detail.contains("did not complete within 1 s")),
        "{err:?}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// A download past the cap is refused whether or not the server announces
/// its length: the body is read chunk by chunk and counted.
#[test]
fn an_oversized_download_is_refused() {
    for announce in [true, false] {
        let url = serve_once(move |mut s| {
            let size = MAX_CATALOG_BYTES as usize + 1;
            let head = if announce {
                format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string()
            };
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&vec![b'#'; size]);
        });
        let err = fetch_url_within(&url, Duration::from_secs(20)).unwrap_err();
        assert!(matches!(&err, UpdateError::TooLarge { .. }), "{err:?}");
    }
}

#[test]
fn lowering_a_requirement_is_refused_unless_allowed() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let ucma_off = EMBEDDED.replacen("ucma = true", "ucma = false", 1);
    assert_ne!(ucma_off, EMBEDDED, "anchor found");
    let source = write(tmp.path(), "lower.toml", &ucma_off);
    let err = update(&source, None, &config, Catalog::embedded(), false).unwrap_err();
    assert!(matches!(&err, UpdateError::Lowers { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("UCMA required → not required") && text.contains("--allow-lower"),
        "{text}"
    );
    assert!(err.is_refusal());
    assert!(!config.exists(), "nothing stored");
    let stored = update(&source, None, &config, Catalog::embedded(), true).unwrap();
    assert_eq!(std::fs::read_to_string(stored.path).unwrap(), ucma_off);
}

/// Review #16: on Windows the catalogue lives in %ProgramData%\cu-roll, so
/// a scheduled task as SYSTEM and the admin at the console see the same;
/// elsewhere the per-user configuration directory stays.
#[test]
fn windows_keeps_the_catalogue_where_every_account_sees_it() {
    assert_eq!(
        system_config_dir(true, Some(r"C:\ProgramData".into())),
        Some(PathBuf::from(r"C:\ProgramData").join("cu-roll"))
    );
    assert_eq!(system_config_dir(true, Some("".into())), None);
    assert_eq!(system_config_dir(true, None), None);
    assert_eq!(system_config_dir(false, Some("/x".into())), None);
}
