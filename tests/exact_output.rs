//! The exact text users see, whole: diagnostics as the binary prints them,
//! and one plan holding every kind of change and drift, in the terminal and
//! in Markdown. A change to any of these texts must be a deliberate one.

use stackc::plan::{self, Plan};

use crate::planner::{apply, engine, plan_of};
use crate::support::{deploy, stackc, stderr, stdout};

/// `stackc check` on a fixture under tests/fixtures/exact/: exit code 1,
/// nothing on stdout, and the diagnostic on stderr.
fn check_fails(fixture: &str) -> String {
    let path = format!("tests/fixtures/exact/{fixture}");
    let out = stackc(&["check", &path]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    stderr(&out)
}

#[test]
fn a_syntax_error_points_at_what_cannot_be_read() {
    assert_eq!(
        check_fails("syntax_error.stack"),
        r##"E0101

  × syntax error: expected a field (`name = value`)
   ╭─[tests/fixtures/exact/syntax_error.stack:4:3]
 3 │ container "web" {
 4 │   image "busybox:1.36"
   ·   ▲
   ·   ╰── here
 5 │ }
   ╰────

error: could not compile: 1 error
"##
    );
}

#[test]
fn an_unclosed_brace_points_at_where_it_opened() {
    assert_eq!(
        check_fails("unclosed.stack"),
        r##"E0101

  × syntax error: unexpected end of file: the `{` opened here is never closed
   ╭─[tests/fixtures/exact/unclosed.stack:3:17]
 2 │ 
 3 │ container "web" {
   ·                 ┬
   ·                 ╰── opened here
 4 │   image = "busybox:1.36"
   ╰────
  help: add `}` where it ends

error: could not compile: 1 error
"##
    );
}

#[test]
fn an_unknown_field_suggests_the_closest_one() {
    assert_eq!(
        check_fails("unknown_field.stack"),
        r##"E0302

  × container has no field `restrat`
   ╭─[tests/fixtures/exact/unknown_field.stack:5:3]
 4 │   image   = "busybox:1.36"
 5 │   restrat = "always"
   ·   ───┬───
   ·      ╰── unknown field
 6 │ }
   ╰────
  help: did you mean `restart`?

error: could not compile: 1 error
"##
    );
}

#[test]
fn a_type_mismatch_says_what_was_wanted_and_how_to_write_it() {
    assert_eq!(
        check_fails("type_mismatch.stack"),
        r##"E0301

  × expected a size or null, found an int
   ╭─[tests/fixtures/exact/type_mismatch.stack:7:12]
 6 │   image  = "busybox:1.36"
 7 │   memory = replicas * 256
   ·            ───────┬──────
   ·                   ╰── this is an int
 8 │ }
   ╰────
  help: write a size with its unit: 512MiB, 1GiB

error: could not compile: 1 error
"##
    );
}

#[test]
fn a_cycle_is_labelled_at_each_use() {
    assert_eq!(
        check_fails("cycle.stack"),
        r##"E0205

  × definitions depend on each other in a cycle: url → port → url
   ╭─[tests/fixtures/exact/cycle.stack:3:30]
 2 │ 
 3 │ let url  = "http://${host}:${port}"
   ·                              ──┬─
   ·                                ╰── `url` uses `port` here
 4 │ let host = "api"
 5 │ let port = len(url)
   ·                ─┬─
   ·                 ╰── `port` uses `url` here
   ╰────

error: could not compile: 1 error
"##
    );
}

/// The stack as applied (`v2 = false`), and as changed: `api` gets more
/// memory (update in place), `db` a new password (a secret: replaced),
/// `web` is new and the volume `cache` is gone.
fn shop(v2: bool) -> String {
    let (memory, cache, web) = if v2 {
        (
            "128MiB",
            "",
            "container \"web\" {\n  image = \"busybox:1.36\"\n  ports = [\"8080:80\"]\n}\n",
        )
    } else {
        ("64MiB", "volume \"cache\" {}\n", "")
    };
    format!(
        "stack \"shop\"\nparam password: secret\nnetwork \"net\" {{}}\n{cache}container \"db\" {{\n  image    = \"postgres:16\"\n  env      = {{ PASSWORD = password, USER = \"shop\" }}\n  networks = [network.net]\n}}\ncontainer \"api\" {{\n  image    = \"busybox:1.36\"\n  memory   = {memory}\n  networks = [network.net]\n}}\ncontainer \"worker\" {{\n  image = \"busybox:1.36\"\n}}\n{web}"
    )
}

/// Applies version 1 on the in-memory engine, changes two containers by
/// hand (drift: `worker` stopped, `api`'s restart policy), and plans version 2.
async fn every_kind_of_change() -> Plan {
    let e = engine();
    let (_, outcome) = apply(&e, &deploy(&shop(false), &["password=hunter-one"])).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    e.stop_by_hand("shop-worker");
    e.tamper("shop-api", |a| a.restart = Some("always".into()));
    plan_of(&e, &deploy(&shop(true), &["password=hunter-two"])).await
}

#[tokio::test]
async fn a_plan_in_the_terminal() {
    let plan = every_kind_of_change().await;
    assert_eq!(
        plan::human(&plan, false),
        r##"Objects have changed outside stackc:

  # container.api (shop-api) was modified
      ~ restart = "always" (source: "no")
  # container.worker (shop-worker) is not running

stackc will perform the following actions:

  # container.api will be updated in place
  # (changed outside stackc)
  ~ container.api (shop-api)
      ~ restart = "always" -> "no"
      ~ memory = 64MiB -> 128MiB

  # container.db must be replaced
-/+ container.db (shop-db)
      ~ env.PASSWORD = (secret) -> (secret changed) # forces replacement

  # container.web will be created
  + container.web (shop-web)
      + image = "busybox:1.36"
      + ports = [
          + { container = 80, protocol = "tcp", host = 8080 }
        ]
      + networks = [
          + { network = "shop-default", aliases = ["web"] }
        ]
      + stop_timeout = 10s
      + restart = "no"

  # container.worker will be updated in place
  # (start: exited (0) outside stackc)
  ~ container.worker (shop-worker)

  # volume.cache will be destroyed
  # (no longer in the source)
  - volume.cache (shop-cache)
      ! this loses the volume's data: it needs --allow-data-loss

Plan: 2 to add, 2 to change, 2 to destroy.
"##
    );
}

#[tokio::test]
async fn the_same_plan_in_markdown() {
    let plan = every_kind_of_change().await;
    assert_eq!(
        plan::markdown(&plan),
        r##"**stackc plan for `shop`:** Plan: 2 to add, 2 to change, 2 to destroy.

**Changed outside stackc:**

- `container.api` was modified
- `container.worker` is not running

<details><summary><code>~</code> container.api will be updated in place</summary>

```diff
  # container.api will be updated in place
  # (changed outside stackc)
  ~ container.api (shop-api)
      ~ restart = "always" -> "no"
      ~ memory = 64MiB -> 128MiB

```
</details>

<details><summary><code>-/+</code> container.db must be replaced</summary>

```diff
  # container.db must be replaced
-/+ container.db (shop-db)
      ~ env.PASSWORD = (secret) -> (secret changed) # forces replacement

```
</details>

<details><summary><code>+</code> container.web will be created</summary>

```diff
  # container.web will be created
  + container.web (shop-web)
      + image = "busybox:1.36"
      + ports = [
          + { container = 80, protocol = "tcp", host = 8080 }
        ]
      + networks = [
          + { network = "shop-default", aliases = ["web"] }
        ]
      + stop_timeout = 10s
      + restart = "no"

```
</details>

<details><summary><code>~</code> container.worker will be updated in place</summary>

```diff
  # container.worker will be updated in place
  # (start: exited (0) outside stackc)
  ~ container.worker (shop-worker)

```
</details>

<details><summary><code>-</code> volume.cache will be destroyed</summary>

```diff
  # volume.cache will be destroyed
  # (no longer in the source)
  - volume.cache (shop-cache)
      ! this loses the volume's data: it needs --allow-data-loss

```
</details>
"##
    );
}

/// A container replaced for a new port, a new command word and a longer
/// health check, while its memory (updated in place on its own) changes too.
fn api(v2: bool) -> String {
    let (port, word, memory, interval) = if v2 {
        ("9090:80", "--verbose", "128MiB", "1m30s")
    } else {
        ("8080:80", "--quiet", "64MiB", "30s")
    };
    format!(
        "stack \"shop\"\ncontainer \"api\" {{\n  image   = \"busybox:1.36\"\n  command = [\"httpd\", \"-f\", \"{word}\"]\n  ports   = [\"127.0.0.1:5432:5432\", \"{port}\"]\n  memory  = {memory}\n  health  = {{ cmd = [\"true\"], interval = {interval} }}\n}}\n"
    )
}

#[tokio::test]
async fn a_replacement_lists_every_change_element_by_element() {
    let e = engine();
    let (_, outcome) = apply(&e, &deploy(&api(false), &[])).await;
    assert!(outcome.succeeded(), "{outcome:?}");
    let plan = plan_of(&e, &deploy(&api(true), &[])).await;
    assert_eq!(
        plan::human(&plan, false),
        r##"stackc will perform the following actions:

  # container.api must be replaced
-/+ container.api (shop-api)
      - command[2] = "--quiet" # forces replacement
      + command[2] = "--verbose" # forces replacement
      ~ health.interval = 30s -> 1m30s # forces replacement
      ~ memory = 64MiB -> 128MiB
      - ports[0] = { container = 80, protocol = "tcp", host = 8080 } # forces replacement
      + ports[0] = { container = 80, protocol = "tcp", host = 9090 } # forces replacement

Plan: 1 to add, 0 to change, 1 to destroy.
"##
    );
    let json = serde_json::to_value(&plan).unwrap();
    let fields = &json["resource_changes"][0]["fields"];
    let memory = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "memory")
        .unwrap();
    assert_eq!(memory["before"], 64 << 20);
    assert!(memory.get("forces_replacement").is_none(), "{memory}");
    assert!(
        !json["resource_changes"][0]["replace_paths"]
            .as_array()
            .unwrap()
            .contains(&"memory".into())
    );
}
