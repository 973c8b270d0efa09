//! Every JSON document the binary writes, validated against its JSON Schema in `docs/schema/`:
//! the real and synthetic reports of testdata through `classify`, `show` and `symbolicate`, and
//! watched runs (a run record, its `--json` copy, the collect manifest, the state file), a
//! snapshot and a diff, a campaign and a comparison, `stats` and `rules`. The schemas close
//! every object (`additionalProperties: false`) and list every closed set of values, so a field
//! added, renamed or given a new value without its schema fails here; and docs/json.md is checked
//! to name every field the schemas know.
//!
//! The checks must be able to fail: a document broken on purpose (a field too many, a value
//! outside its set, a process written as its name) is refused, every schema file validates at
//! least one real output, and every `schema` id the binary wrote has its file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{PYTHON_DIES, RACE, WRITE_RACE, crashdelta, root, testdata};
use serde_json::Value;

/// The folder of the schema files.
fn schema_dir() -> PathBuf {
    root().join("docs/schema")
}

/// The file of a document's `schema` id: `crashdelta.watch/1` → `crashdelta.watch-1.schema.json`
/// (the naming docs/json.md states).
fn file_of(id: &str) -> String {
    format!("{}.schema.json", id.replace('/', "-"))
}

/// Every schema file by name, parsed.
fn schema_files() -> BTreeMap<String, Value> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(schema_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.ends_with(".schema.json"),
            "{name}: docs/schema holds schema files only"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let schema: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        files.insert(name, schema);
    }
    files
}

/// A validator for each document's schema (the files whose `schema` property is a constant),
/// keyed by that id, with every file registered so that references between them resolve and
/// nothing is fetched.
struct Schemas {
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl Schemas {
    fn load() -> Schemas {
        let files = schema_files();
        let mut builder = jsonschema::Registry::new();
        for (name, schema) in &files {
            let id = schema["$id"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no $id"));
            assert!(id.ends_with(&format!("/{name}")), "{name}: $id {id}");
            jsonschema::meta::validate(schema).unwrap_or_else(|e| panic!("{name}: {e}"));
            builder = builder.add(id, schema.clone()).unwrap();
        }
        let registry = builder.prepare().unwrap();
        let mut validators = BTreeMap::new();
        for (name, schema) in &files {
            let Some(id) = schema["properties"]["schema"]["const"].as_str() else {
                continue;
            };
            assert_eq!(file_of(id), *name, "the file of {id}");
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .with_registry(&registry)
                .should_validate_formats(true)
                .offline()
                .build(schema)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            validators.insert(id.to_owned(), validator);
        }
        Schemas { validators }
    }

    /// The errors of `doc` against the schema its `schema` names (an empty list: valid).
    fn errors(&self, doc: &Value) -> Vec<String> {
        let id = doc["schema"].as_str().unwrap_or("(no schema)");
        let Some(v) = self.validators.get(id) else {
            return vec![format!("no schema file for {id:?} in docs/schema")];
        };
        v.iter_errors(doc)
            .take(20)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }
}

/// The documents made in one test, by what made them, with the ids they carry (a campaign's
/// runs carry the watch record's).
#[derive(Default)]
struct Outputs {
    docs: Vec<(String, Value)>,
}

impl Outputs {
    fn add(&mut self, what: impl Into<String>, doc: Value) {
        self.docs.push((what.into(), doc));
    }

    /// Standard output of a finished command, as one document.
    fn stdout(&mut self, what: &str, out: &std::process::Output) -> Value {
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{what}: standard output is not JSON ({e}); exit {:?}; stderr: {}",
                out.status.code(),
                common::stderr(out)
            )
        });
        self.add(what, doc.clone());
        doc
    }

    fn file(&mut self, what: &str, path: &Path) -> Value {
        let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap())
            .unwrap_or_else(|e| panic!("{what}: {} is not JSON: {e}", path.display()));
        self.add(what, doc.clone());
        doc
    }
}

/// Every `schema` id a document carries, nested ones included.
fn ids(doc: &Value, into: &mut BTreeSet<String>) {
    match doc {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("schema") {
                into.insert(id.clone());
            }
            map.values().for_each(|v| ids(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| ids(v, into)),
        _ => {}
    }
}

/// Every file of testdata's real, field and derived folders: whatever `show` is handed, a
/// report, a paste or something that is no report at all (a notes file), it writes a document.
fn inputs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["real", "field", "derived"]
        .iter()
        .flat_map(|dir| walkdir::WalkDir::new(testdata().join(dir)))
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    files.sort();
    files
}

/// A shell snippet (after [`WRITE_RACE`]): a process of the command dies of SIGSEGV and its race
/// report is written with an incident id of its own, so that every run's report is new.
const CRASH_ONCE: &str = r#"
sed "s/5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D/5E0C2B1A-7F3D-4A9B-8C6E-$(printf %012d $$)/g" \
  "$RACE" > "$REPORTS/../race-$$.ips"
RACE="$REPORTS/../race-$$.ips"
sh -c 'kill -SEGV $$' & crashed=$!
wait $crashed
write_race $crashed $$ '' "r-$$.ips"
exit 0
"#;

/// The reports, classified, shown and symbolicated.
fn reports(out: &mut Outputs) {
    let all = crashdelta()
        .args(["classify", "--format", "json", "--fail-on", "any"])
        .args(["testdata/real", "testdata/field", "testdata/derived"])
        .output()
        .unwrap();
    let doc = out.stdout("classify testdata", &all);
    assert!(doc["reports"].as_array().unwrap().len() > 100);
    let stdin = crashdelta()
        .args(["classify", "--format", "json", "-"])
        .write_stdin(common::read(
            "derived/agx-prepareForEnqueue-faulthandler.ips",
        ))
        .output()
        .unwrap();
    out.stdout("classify -", &stdin);
    for path in inputs() {
        let o = crashdelta()
            .args(["show", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap();
        out.stdout(&format!("show {}", path.display()), &o);
    }
    let cache = tempfile::tempdir().unwrap();
    let named = crashdelta()
        .args(["symbolicate", "--format", "json", "--symbols"])
        .arg(testdata().join("symbols/out"))
        .arg("--cache-dir")
        .arg(cache.path())
        .arg(testdata().join("derived/agx-unsymbolicated-0x98.ips"))
        .output()
        .unwrap();
    let doc = out.stdout("symbolicate --symbols", &named);
    assert_eq!(
        doc["report"]["crashed_thread"]["frames"][0]["symbolicated_by"], "symbols",
        "the symbolicated frames are in the document"
    );
    let rules = crashdelta()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    out.stdout("rules --format json", &rules);
    // A rules file with version conditions and `fixed_in`, so that `fixed_in` and `regression`
    // are written as objects, not only as null.
    let team = tempfile::tempdir().unwrap();
    let team_rules = team.path().join("team.toml");
    std::fs::write(
        &team_rules,
        r#"[[rule]]
id = "agx-prepare-for-enqueue-race"
title = "AGX prepareForEnqueue race, said fixed in the driver it crashed on"
family = "agx"
known = true
fixed_in = { driver_version = "329.2", os_version = "26.1" }
[rule.when]
driver_version = { min = "300", below = "400" }
frames = [{ image_kind = "agx", function = "AGX::ComputeContext::prepareForEnqueue(bool)", at = 0 }]
"#,
    )
    .unwrap();
    let regressed = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            "--fail-on",
            "regression",
            "--rules",
        ])
        .arg(&team_rules)
        .arg(testdata().join("derived"))
        .output()
        .unwrap();
    let doc = out.stdout("classify --rules (fixed_in)", &regressed);
    assert!(
        doc["reports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["classification"]["regression"].is_object()),
        "a regression is in the document"
    );
    let listed = crashdelta()
        .args(["rules", "--format", "json", "--rules"])
        .arg(&team_rules)
        .output()
        .unwrap();
    out.stdout("rules --format json --rules (fixed_in)", &listed);
    let explained = crashdelta()
        .args(["rules", "explain", "--format", "json", "--rules"])
        .arg(&team_rules)
        .arg(testdata().join("derived/agx-prepareForEnqueue-0x98.ips"))
        .output()
        .unwrap();
    out.stdout("rules explain --format json --rules (fixed_in)", &explained);
    for report in [
        "derived/agx-prepareForEnqueue-0x98.ips",
        "real/ips/llvm-lldb__a.out.ips",
    ] {
        let explained = crashdelta()
            .args(["rules", "explain", "--format", "json"])
            .arg(testdata().join(report))
            .output()
            .unwrap();
        out.stdout(&format!("rules explain --format json {report}"), &explained);
    }
}

/// Watched runs and what they leave: the run record (standard output and `--json`), the
/// manifest, the state file; a snapshot and a diff; a campaign and a comparison; `stats` over
/// the reports and the records. Returns the folder, to keep it until the test ends.
fn runs(out: &mut Outputs) -> tempfile::TempDir {
    let lab = tempfile::tempdir().unwrap();
    let reports = lab.path().join("reports");
    let collect = lab.path().join("collected");
    let state = lab.path().join("state.json");
    let record = lab.path().join("record.json");
    std::fs::create_dir(&reports).unwrap();
    let path = |p: &Path| p.to_str().unwrap().to_owned();

    let before = crashdelta()
        .args(["snapshot", "--reports-dir", &path(&reports), "-o"])
        .arg(lab.path().join("before.json"))
        .output()
        .unwrap();
    assert!(before.status.success(), "{}", common::stderr(&before));
    out.file("snapshot", &lab.path().join("before.json"));

    // Python dies under faulthandler: the record joins the crash with the evidence printed.
    let watched = common::watch_sh(
        &reports,
        &[
            "--format",
            "json",
            "--fail-on",
            "any",
            "--json",
            &path(&record),
            "--collect",
            &path(&collect),
            "--state",
            &path(&state),
        ],
        &[],
        &format!("{WRITE_RACE}{PYTHON_DIES}"),
    );
    let doc = out.stdout("watch --format json", &watched);
    assert_eq!(doc["new"].as_array().map(Vec::len), Some(1), "{doc}");
    assert!(
        doc["new"][0]["test"].is_object(),
        "joined with evidence: {doc}"
    );
    out.file("watch --json", &record);
    out.file(
        "watch --collect: manifest.json",
        &collect.join("manifest.json"),
    );
    out.file("watch --state", &state);

    // A diff against the snapshot, with the state file: the run's report, now from a diff.
    let diff = crashdelta()
        .arg("diff")
        .arg(lab.path().join("before.json"))
        .args(["--reports-dir", &path(&reports), "--format", "json"])
        .args(["--state", &path(&state)])
        .output()
        .unwrap();
    let doc = out.stdout("diff --format json", &diff);
    assert!(doc["command"].is_null());
    let after = crashdelta()
        .args(["snapshot", "--reports-dir", &path(&reports)])
        .output()
        .unwrap();
    let doc = out.stdout("snapshot (a report in the folder)", &after);
    assert!(doc["entries"][0]["peek"]["process"].is_object(), "{doc}");

    // A campaign whose every run crashes, and a comparison whose B injects one library that
    // loads and one that does not (the record's `injected`, and the statistics' counts).
    let script = format!("{WRITE_RACE}{CRASH_ONCE}");
    let preload = format!(
        "LD_PRELOAD={}:/nonexistent/libnope.so",
        common::shared_library(lab.path(), "libfix.so").display()
    );
    let campaign = lab.path().join("campaign.json");
    // The repeated runs' race is said fixed in the driver it crashed on: each run's crash
    // carries its `regression`.
    let fixed = lab.path().join("fixed.toml");
    std::fs::write(
        &fixed,
        r#"[[rule]]
id = "agx-prepare-for-enqueue-race"
title = "AGX prepareForEnqueue race"
family = "agx"
fixed_in = { driver_version = "329.2" }
[rule.when]
frames = [{ image_kind = "agx", function = "AGX::ComputeContext::prepareForEnqueue(bool)", at = 0 }]
"#,
    )
    .unwrap();
    for (what, args) in [
        (
            "watch --repeat",
            vec![
                "watch",
                "--repeat",
                "2",
                "--json",
                campaign.to_str().unwrap(),
                "--rules",
                fixed.to_str().unwrap(),
            ],
        ),
        (
            "compare",
            vec!["compare", "--runs", "1", "--b-env", preload.as_str()],
        ),
    ] {
        let o = crashdelta()
            .env("REPORTS", &reports)
            .env("RACE", root().join(RACE))
            .args(&args)
            .args(["--settle", "0.3s", "--format", "json", "--reports-dir"])
            .arg(&reports)
            .args(["--", "sh", "-c", &script])
            .output()
            .unwrap();
        let doc = out.stdout(what, &o);
        let crashes: usize = doc["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["run"]["crashes"].as_array().unwrap().len())
            .sum();
        assert_eq!(crashes, 2, "{what}: every run crashed: {doc}");
        if what == "watch --repeat" {
            assert_eq!(
                doc["runs"][0]["run"]["crashes"][0]["regression"]["fixed_in"], "329.2",
                "{doc}"
            );
        }
        if what == "compare" && cfg!(target_os = "linux") {
            let injected = &doc["summary"]["b"]["injected"];
            assert_eq!(injected.as_array().map(Vec::len), Some(2), "{doc}");
        }
    }

    let stats = crashdelta()
        .args(["stats", "--format", "json"])
        .arg(&reports)
        .arg(&record)
        .arg(&campaign)
        .output()
        .unwrap();
    let doc = out.stdout("stats --format json", &stats);
    assert!(doc["rows"][0]["driver"].is_object(), "{doc}");

    // A history of a watched run and a classify of the reports, and what it says.
    let history = lab.path().join("history.sqlite");
    let recorded = crashdelta()
        .args(["classify", "--history"])
        .arg(&history)
        .arg(&reports)
        .output()
        .unwrap();
    assert!(
        recorded.status.code().is_some(),
        "{}",
        common::stderr(&recorded)
    );
    let _ = common::watch_sh(
        &reports,
        &["--history", &path(&history), "--format", "json"],
        &[],
        "exit 0",
    );
    let asked = crashdelta()
        .args(["history", "--format", "json", "--by", "day"])
        .arg(&history)
        .output()
        .unwrap();
    let doc = out.stdout("history --format json", &asked);
    assert!(doc["signatures"][0]["rule"].is_string(), "{doc}");
    assert_eq!(doc["runs"]["runs"], 1, "{doc}");
    lab
}

#[test]
fn every_document_the_binary_writes_matches_its_schema() {
    let schemas = Schemas::load();
    let mut out = Outputs::default();
    reports(&mut out);
    let _lab = runs(&mut out);

    let mut problems = Vec::new();
    let mut emitted = BTreeSet::new();
    let mut validated = BTreeSet::new();
    for (what, doc) in &out.docs {
        ids(doc, &mut emitted);
        assert!(doc["tool"]["name"] == "crashdelta", "{what}: no tool");
        let errors = schemas.errors(doc);
        if errors.is_empty() {
            validated.insert(doc["schema"].as_str().unwrap().to_owned());
        } else {
            problems.push(format!("{what}:\n  {}", errors.join("\n  ")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Every schema id the binary wrote has its file (a nested one too: a campaign's runs are
    // watch records), and every document schema validated something.
    let files: BTreeSet<String> = schemas.validators.keys().cloned().collect();
    let missing: Vec<&String> = emitted.difference(&files).collect();
    assert!(missing.is_empty(), "no schema file for {missing:?}");
    let unused: Vec<&String> = files
        .difference(&validated)
        .filter(|id| !emitted.contains(*id))
        .collect();
    assert!(unused.is_empty(), "schema files no output used: {unused:?}");
    let names: BTreeSet<String> = schema_files().into_keys().collect();
    let expected: BTreeSet<String> = files
        .iter()
        .map(|id| file_of(id))
        .chain(["common.schema.json".to_owned()])
        .collect();
    assert_eq!(
        names, expected,
        "docs/schema: one file per schema id, and common"
    );
}

/// A change made to a good document.
type Edit = fn(&mut Value);

/// The checks above can fail: a document broken in each way the schemas guard against is
/// refused, with the field named.
#[test]
fn a_broken_document_is_refused() {
    let schemas = Schemas::load();
    let o = crashdelta()
        .args(["show", "--format", "json", RACE])
        .output()
        .unwrap();
    let good: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(schemas.errors(&good), Vec::<String>::new());
    let broken = |edit: Edit| {
        let mut doc = good.clone();
        edit(&mut doc);
        schemas.errors(&doc)
    };
    let cases: [(&str, Edit, &str); 7] = [
        (
            "a field too many",
            |d| d["report"]["surprise"] = Value::Bool(true),
            "surprise",
        ),
        (
            "a field too many in a nested object",
            |d| d["report"]["process"]["ppid"] = 1.into(),
            "ppid",
        ),
        (
            "a value outside its set",
            |d| d["report"]["crashed_thread"]["frames"][0]["symbolicated_by"] = "magic".into(),
            "/report/crashed_thread/frames/0/symbolicated_by",
        ),
        (
            "the process written as its name",
            |d| d["report"]["process"] = "Python".into(),
            "/report/process",
        ),
        (
            "a required field missing",
            |d| {
                d["report"]["driver"]
                    .as_object_mut()
                    .unwrap()
                    .remove("uuid");
            },
            "uuid",
        ),
        (
            "an address as a number",
            |d| d["report"]["crashed_thread"]["frames"][0]["address"] = 0x98.into(),
            "/report/crashed_thread/frames/0/address",
        ),
        (
            "another schema id",
            |d| d["schema"] = "crashdelta.report/9".into(),
            "crashdelta.report/9",
        ),
    ];
    for (what, edit, named) in cases {
        let errors = broken(edit);
        assert!(
            errors.iter().any(|e| e.contains(named)),
            "{what}: expected an error naming {named}, got {errors:?}"
        );
    }
}

/// Records and inventories of the shapes written before (campaign/1's `crashes[].process` as a
/// name, classify/1's `driver_versions`, inventory/1's `peek.process` as a name, the first
/// manifests' bare list) still load: `stats` pools them, `diff` reads the inventory.
#[test]
fn records_of_the_earlier_shapes_still_load() {
    let schemas = Schemas::load();
    let lab = tempfile::tempdir().unwrap();
    let crash = serde_json::json!({
        "path": "/r/Python-1.ips", "status": "crash", "signature_id": "25ad5093bba0f34e",
        "signature": "AGXMetal!AGX::ComputeContext::prepareForEnqueue(bool)",
        "location": "AGX::ComputeContext::prepareForEnqueue(bool) + 1268",
        "classification": {"rule": "agx-prepare-for-enqueue-race", "title": "T", "known": true},
        "os": {"build": "24G419"}, "hardware_model": "Mac16,5",
        "driver": {"name": "AGXMetalG16X", "version": "329.2", "uuid": null},
        "capture_time": "2025-12-23T16:41:06-08:00", "process": {"name": "Python", "pid": 1},
    });
    let campaign = serde_json::json!({
        "schema": "crashdelta.campaign/1",
        "tool": {"name": "crashdelta", "version": "0.1.0"},
        "runs": [{"schema": "crashdelta.watch/1", "new": [crash],
                  "run": {"index": 1, "crashes": [{"rule": "agx-prepare-for-enqueue-race",
                          "process": "Python", "path": "/r/Python-1.ips"}]}}],
    });
    let classify = serde_json::json!({
        "schema": "crashdelta.classify/1",
        "tool": {"name": "crashdelta", "version": "0.1.0"},
        "reports": [crash],
        "groups": [{"signature_id": "25ad5093bba0f34e", "driver_versions": ["AGXMetalG16X 329.2"]}],
    });
    let (c, k) = (lab.path().join("c.json"), lab.path().join("k.json"));
    std::fs::write(&c, campaign.to_string()).unwrap();
    std::fs::write(&k, classify.to_string()).unwrap();
    let o = crashdelta()
        .args(["stats", "--format", "json"])
        .arg(&c)
        .arg(&k)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(schemas.errors(&doc), Vec::<String>::new());
    assert_eq!(
        (doc["crashes"].as_u64(), doc["runs"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(doc["rows"][0]["driver"]["version"], "329.2");

    // An inventory/1, its process a name: diff reads it, and finds the report new.
    let reports = lab.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let old = serde_json::json!({
        "schema": "crashdelta.inventory/1",
        "taken_at": "2025-12-23T00:00:00Z",
        "folders": [{"path": reports, "exists": true}],
        "entries": [{"path": reports.join("gone.ips"), "size": 10, "mtime_ns": 1,
                     "peek": {"kind": "crash", "bug_type": "309", "incident_id": "A",
                              "process": "Python"},
                     "error": null}],
    });
    let before = lab.path().join("before.json");
    std::fs::write(&before, old.to_string()).unwrap();
    std::fs::copy(root().join(RACE), reports.join("Python-race.ips")).unwrap();
    let o = crashdelta()
        .arg("diff")
        .arg(&before)
        .args([
            "--reports-dir",
            reports.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let doc: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", common::stderr(&o)));
    assert_eq!(schemas.errors(&doc), Vec::<String>::new());
    assert_eq!(doc["new"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(
        doc["removed"], 1,
        "the old inventory's entry is gone: {doc}"
    );
}

/// Every property name the schemas know, and where.
fn schema_fields(v: &Value, at: &str, into: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                for name in props.keys() {
                    into.entry(name.clone()).or_insert_with(|| at.to_owned());
                }
            }
            for (k, x) in map {
                schema_fields(x, &format!("{at}/{k}"), into);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| schema_fields(x, at, into)),
        _ => {}
    }
}

/// docs/json.md names every field of the schemas (as `` `field` ``), and every field its tables
/// list (the first column) is one the schemas know; it links every schema file.
#[test]
fn docs_json_md_and_the_schemas_name_the_same_fields() {
    let doc = std::fs::read_to_string(root().join("docs/json.md")).unwrap();
    let code_spans: BTreeSet<&str> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| span.split(['.', '[', ']', ' ', ',']))
        .filter(|s| !s.is_empty())
        .collect();
    let mut fields = BTreeMap::new();
    for (name, schema) in schema_files() {
        schema_fields(&schema, &name, &mut fields);
        assert!(
            doc.contains(&format!("(schema/{name})")),
            "docs/json.md links schema/{name}"
        );
    }
    let undocumented: Vec<String> = fields
        .iter()
        .filter(|(f, _)| !code_spans.contains(f.as_str()))
        .map(|(f, at)| format!("{f} ({at})"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "fields docs/json.md does not name: {undocumented:?}"
    );
    let listed: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .flat_map(|cell| cell.split(['.', '[', ']', ',', ' ']))
        .filter(|s| !s.is_empty())
        .collect();
    let unknown: Vec<&&str> = listed
        .iter()
        .filter(|f| !fields.contains_key(**f))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/json.md lists fields no schema has: {unknown:?}"
    );
}
