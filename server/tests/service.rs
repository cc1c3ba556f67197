//! Running the real binary as a service: its configuration file and
//! environment, its JSON request logs, and the management commands while it
//! runs.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Device, TOKEN, client};
use rapport_core::SyncLimits;
use rapport_core::sync::Message;

/// The variables the server reads, taken away from every process a test starts.
const RAPPORT_VARS: [&str; 7] = [
    "RAPPORT_ADMIN_TOKEN",
    "RAPPORT_CONFIG",
    "RAPPORT_SERVER",
    "RAPPORT_LISTEN",
    "RAPPORT_DATA_DIR",
    "RAPPORT_NODE_NAME",
    "RAPPORT_LOG_FORMAT",
];

/// A `rapport-server serve` process; its stderr (the logs) goes to a file.
struct Served {
    child: Child,
    url: String,
    logs: PathBuf,
}

impl Served {
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Served {
        let logs = dir.join(format!("stderr-{}.log", std::process::id()));
        let mut command = Command::new(env!("CARGO_BIN_EXE_rapport-server"));
        command.arg("serve").args(args);
        for var in RAPPORT_VARS {
            command.env_remove(var);
        }
        let mut child = command
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&logs).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines_tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        let url = loop {
            let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(30)) else {
                panic!("the server printed no address; stderr: {}", std::fs::read_to_string(&logs).unwrap());
            };
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.to_owned();
            }
        };
        Served { child, url, logs }
    }

    /// Stops the server with SIGTERM; returns its stderr.
    async fn stop(mut self) -> String {
        // Serving (past the start, so its signal handler is in place).
        let health = client().get(format!("{}/healthz", self.url)).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200);
        let killed = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let status = tokio::task::spawn_blocking(move || self.child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "exit status {status:?}");
        std::fs::read_to_string(&self.logs).unwrap()
    }
}

/// Runs `rapport-server ARGS` with only the given `RAPPORT_…` variables; returns (success, stdout, stderr).
fn rapport_server(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rapport-server"));
    for var in RAPPORT_VARS {
        command.env_remove(var);
    }
    let out = command.args(args).envs(env.iter().copied()).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[tokio::test]
async fn the_configuration_file_sets_serve_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("rapport-server.toml");
    let from_file = dir.path().join("from-file");
    let from_env = dir.path().join("from-env");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\ndata_dir = {:?}\nrate = 0\nnode_name = \"sync-1\"\n", from_file),
    )
    .unwrap();

    // The file alone: the database goes into its data_dir, the node's name is on its metrics.
    let served = Served::start(dir.path(), &["--config", config.to_str().unwrap()], &[("RAPPORT_ADMIN_TOKEN", TOKEN)]);
    let metrics = client().get(format!("{}/metrics", served.url)).bearer_auth(TOKEN).send().await.unwrap();
    let metrics = String::from_utf8(metrics.bytes().await.unwrap().to_vec()).unwrap();
    assert!(metrics.contains("node=\"sync-1\""), "{metrics}");
    served.stop().await;
    assert!(from_file.join("rapport-server.db").exists());

    // RAPPORT_CONFIG names the file; RAPPORT_DATA_DIR beats its data_dir.
    let served = Served::start(
        dir.path(),
        &[],
        &[
            ("RAPPORT_CONFIG", config.to_str().unwrap()),
            ("RAPPORT_DATA_DIR", from_env.to_str().unwrap()),
            ("RAPPORT_NODE_NAME", "sync-2"),
            ("RAPPORT_ADMIN_TOKEN", TOKEN),
        ],
    );
    let metrics = client().get(format!("{}/metrics", served.url)).bearer_auth(TOKEN).send().await.unwrap();
    let metrics = String::from_utf8(metrics.bytes().await.unwrap().to_vec()).unwrap();
    assert!(metrics.contains("node=\"sync-2\"") && !metrics.contains("sync-1"), "{metrics}");
    served.stop().await;
    assert!(from_env.join("rapport-server.db").exists(), "the environment beats the file");

    // A flag beats both.
    let from_flag = dir.path().join("from-flag");
    let served = Served::start(
        dir.path(),
        &["--config", config.to_str().unwrap(), "--data", from_flag.to_str().unwrap()],
        &[("RAPPORT_DATA_DIR", from_env.to_str().unwrap())],
    );
    served.stop().await;
    assert!(from_flag.join("rapport-server.db").exists(), "the flag beats the environment");

    // An unknown key stops the start, naming the file and the key; nothing is created.
    let bad = dir.path().join("bad.toml");
    let untouched = dir.path().join("untouched");
    std::fs::write(&bad, format!("data_dir = {untouched:?}\nlisten = \"127.0.0.1:0\"\nbackup_evry = \"1h\"\n"))
        .unwrap();
    let (ok, _, err) = rapport_server(&["serve", "--config", bad.to_str().unwrap()], &[]);
    assert!(!ok);
    assert!(
        err.contains("bad.toml") && err.contains("unknown key `backup_evry`") && err.contains("backup_every"),
        "{err}"
    );
    assert!(!untouched.exists());

    // A bad value names the key and what to write; a bad variable names the variable.
    std::fs::write(&bad, "listen = \"127.0.0.1:0\"\nrate = \"fast\"\n").unwrap();
    let (ok, _, err) = rapport_server(&["serve", "--config", bad.to_str().unwrap()], &[]);
    assert!(!ok && err.contains("`rate`") && err.contains("write requests per second"), "{err}");
    let (ok, _, err) = rapport_server(&["serve", "--listen", "127.0.0.1:0"], &[("RAPPORT_BURST", "lots")]);
    assert!(!ok && err.contains("RAPPORT_BURST") && err.contains("whole number"), "{err}");
    let (ok, _, err) = rapport_server(&["serve", "--config", dir.path().join("missing.toml").to_str().unwrap()], &[]);
    assert!(!ok && err.contains("missing.toml"), "{err}");
}

#[tokio::test]
async fn request_logs_are_json_lines_with_route_status_latency_and_device_and_no_customer_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let served = Served::start(
        dir.path(),
        &["--listen", "127.0.0.1:0", "--data", data.to_str().unwrap()],
        &[("RAPPORT_LOG_FORMAT", "json"), ("RAPPORT_ADMIN_TOKEN", TOKEN), ("RUST_LOG", "info")],
    );
    let http = client();
    let health = http.get(format!("{}/healthz", served.url)).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let whoami = http.get(format!("{}/v1/whoami", served.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(whoami.status().as_u16(), 200);
    let admin_device =
        serde_json::from_slice::<serde_json::Value>(&whoami.bytes().await.unwrap()).unwrap()["device_id"]
            .as_i64()
            .unwrap();

    // A sync whose body holds an account's name.
    let secret = "Zyxwvut Quarry Oy";
    let mut device = Device::new("admin");
    let account = device.account(secret);
    let (request, _plan) = device.replica.sync_request(SyncLimits::default()).unwrap();
    let synced = http
        .post(format!("{}/v1/sync", served.url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/octet-stream")
        .body(Message::Request(request).encode())
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status().as_u16(), 200);
    // A query string naming the account, and a path that matches no route.
    let audit =
        http.get(format!("{}/v1/admin/audit?account={account}", served.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(audit.status().as_u16(), 200);
    let missing = http.get(format!("{}/no/such/{account}", served.url)).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let refused = http.get(format!("{}/v1/whoami", served.url)).bearer_auth("not-a-real-token-at-all").send().await;
    assert_eq!(refused.unwrap().status().as_u16(), 401);

    let logs = served.stop().await;
    let lines: Vec<serde_json::Value> =
        logs.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a JSON line ({e}): {l}"))).collect();
    let requests: Vec<&serde_json::Value> = lines.iter().filter(|l| l["target"] == "rapport_server::request").collect();
    let find = |method: &str, route: &str, status: u64| {
        requests
            .iter()
            .find(|l| l["method"] == method && l["route"] == route && l["status"] == status)
            .unwrap_or_else(|| panic!("a log line for {method} {route} {status} in {logs}"))
    };
    let health = find("GET", "/healthz", 200);
    assert!(health.get("device").is_none(), "no device without a token: {health}");
    assert!(health["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(health["level"], "INFO");
    assert!(health["timestamp"].is_string());
    for (method, route) in [("GET", "/v1/whoami"), ("POST", "/v1/sync"), ("GET", "/v1/admin/audit")] {
        assert_eq!(find(method, route, 200)["device"], admin_device, "{method} {route}");
    }
    find("GET", "unmatched", 404);
    assert!(find("GET", "/v1/whoami", 401).get("device").is_none());
    assert_eq!(requests.len(), 7, "one line per request (and the stop's /healthz): {logs}");
    assert!(!logs.contains("Zyxwvut"), "an account's name never reaches the log: {logs}");
    assert!(!logs.contains(&account.to_string()), "nor a query string or a path's values: {logs}");
    assert!(!logs.contains(TOKEN), "nor a token: {logs}");
}

#[tokio::test]
async fn management_commands_work_through_the_admin_api_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let served = Served::start(
        dir.path(),
        &["--listen", "0.0.0.0:0", "--data", data_arg],
        &[("RAPPORT_ADMIN_TOKEN", TOKEN), ("RUST_LOG", "warn")],
    );
    let port = served.url.rsplit(':').next().unwrap().to_owned();
    let written = std::fs::read_to_string(data.join(rapport_server::config::URL_FILE)).unwrap();
    assert_eq!(written.trim(), format!("http://127.0.0.1:{port}"), "a wildcard address is written as loopback");
    let admin = [("RAPPORT_ADMIN_TOKEN", TOKEN)];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data", data_arg]);
        rapport_server(&all, &admin)
    };

    // Without a token: the old clear refusal, saying what to do.
    let (ok, _, err) = rapport_server(&["user", "list", "--data", data_arg], &[]);
    assert!(!ok && err.contains("use the admin API") && err.contains("RAPPORT_ADMIN_TOKEN"), "{err}");

    // With it, every command goes through the running server.
    let (ok, out, err) = run(&["team", "add", "north"]);
    assert!(ok, "{err}");
    assert_eq!(out, "Added team north.\n");
    let (ok, out, err) = run(&["user", "add", "ray", "--role", "rep", "--team", "north", "--territory", "oulu"]);
    assert!(ok, "{err}");
    let ray = out.lines().last().unwrap().to_owned();
    let whoami = client().get(format!("{}/v1/whoami", served.url)).bearer_auth(&ray).send().await.unwrap();
    assert_eq!(whoami.status().as_u16(), 200, "the new token works at once");
    let (ok, out, err) = run(&["user", "set", "ray", "--role", "manager", "--no-territories"]);
    assert!(ok && out == "Updated user ray.\n", "{err}");
    let (_, users, _) = run(&["user", "list"]);
    assert!(users.lines().any(|l| l == "ray\tmanager\tnorth\t\tactive"), "{users}");
    // Names travel in the admin API's paths and bodies as they are.
    let (ok, _, err) = run(&["user", "add", "Ana María/2", "--role", "office", "--team", "north"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["user", "set", "Ana María/2", "--role", "rep"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["user", "delete", "Ana María/2"]);
    assert!(ok, "{err}");
    let (_, users, _) = run(&["user", "list"]);
    assert!(users.lines().any(|l| l == "Ana María/2\trep\tnorth\t\tdeleted"), "{users}");
    let (_, teams, _) = run(&["team", "list"]);
    assert_eq!(teams, "north\n");
    let (ok, out, err) = run(&["device", "add", "ray", "--name", "tablet"]);
    assert!(ok, "{err}");
    let tablet_token = out.lines().last().unwrap().to_owned();
    let tablet_id: i64 = out.split_whitespace().nth(2).unwrap().parse().unwrap();
    let (ok, _, err) = run(&["device", "revoke", &tablet_id.to_string()]);
    assert!(ok, "{err}");
    let refused = client().get(format!("{}/v1/whoami", served.url)).bearer_auth(&tablet_token).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401, "revoked through the running server");
    let (_, devices, _) = run(&["device", "list"]);
    assert!(devices.lines().any(|l| l.starts_with(&format!("{tablet_id}\tray\ttablet\trevoked"))), "{devices}");
    let (_, audit, err) = run(&["audit"]);
    assert!(audit.starts_with("TIME\tUSER"), "{audit}{err}");

    // The server's refusals reach the operator as they are; nothing changes.
    let (ok, _, err) = run(&["user", "add", "x", "--role", "root"]);
    assert!(!ok && err.contains("the server refused") && err.contains("unknown role"), "{err}");
    let (ok, _, err) = run(&["user", "delete", "admin"]);
    assert!(!ok && err.contains("built-in admin"), "{err}");
    let (ok, _, err) = run(&["device", "revoke", "999"]);
    assert!(!ok && err.contains("no device with this id"), "{err}");

    // Administrators' actions name the admin device that did them.
    let (ok, actions, err) = run(&["audit", "--actions"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = actions.lines().skip(1).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l.split('\t').nth(2).unwrap()).collect();
    assert_eq!(
        kinds,
        ["team.add", "user.add", "user.set", "user.add", "user.set", "user.delete", "device.add", "device.revoke"],
        "{actions}"
    );
    assert!(lines.iter().all(|l| l.split('\t').nth(1) == Some("admin (device 1)")), "{actions}");

    // --server names the server; a bad address, an unreachable server and a
    // wrong token each get their own plain error.
    let (ok, out, err) = rapport_server(&["team", "list", "--server", &served.url], &admin);
    assert!(ok && out == "north\n", "{err}");
    let (ok, out, err) =
        rapport_server(&["team", "list"], &[("RAPPORT_ADMIN_TOKEN", TOKEN), ("RAPPORT_SERVER", &served.url)]);
    assert!(ok && out == "north\n", "{err}");
    // The data directory is found as `serve` finds it: the configuration file, the environment.
    let config = dir.path().join("server.toml");
    std::fs::write(&config, format!("data_dir = {data:?}\nlisten = \"127.0.0.1:0\"\n")).unwrap();
    let (ok, out, err) = rapport_server(&["team", "list", "--config", config.to_str().unwrap()], &admin);
    assert!(ok && out == "north\n", "{err}");
    let (ok, out, err) =
        rapport_server(&["team", "list"], &[("RAPPORT_ADMIN_TOKEN", TOKEN), ("RAPPORT_DATA_DIR", data_arg)]);
    assert!(ok && out == "north\n", "{err}");
    let (ok, _, err) = rapport_server(&["team", "list", "--server", "localhost:8080"], &admin);
    assert!(!ok && err.contains("not a server address"), "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (ok, _, err) = rapport_server(&["team", "list", "--server", &format!("http://{closed}")], &admin);
    assert!(!ok && err.contains("cannot reach the server"), "{err}");
    let (ok, _, err) = rapport_server(
        &["team", "list", "--server", &served.url],
        &[("RAPPORT_ADMIN_TOKEN", "wrong-token-0123456789")],
    );
    assert!(!ok && err.contains("refused RAPPORT_ADMIN_TOKEN"), "{err}");
    let (ok, _, err) = rapport_server(&["team", "list", "--server", &served.url], &[]);
    assert!(!ok && err.contains("needs an admin device's token"), "{err}");
    let (ok, _, err) = rapport_server(&["team", "list", "--server", &served.url], &[("RAPPORT_ADMIN_TOKEN", &ray)]);
    assert!(!ok && err.contains("admin API needs a device of an admin user"), "{err}");

    // Stopped, the commands fall back to the data directory's file.
    served.stop().await;
    assert!(!data.join(rapport_server::config::URL_FILE).exists(), "the address is removed at stop");
    let (ok, users, err) = run(&["user", "list"]);
    assert!(ok && users.contains("ray\tmanager"), "{err}");
    let (ok, _, err) = rapport_server(&["team", "add", "south", "--data", data_arg], &[("USER", "ops")]);
    assert!(ok, "{err}");
    let (_, actions, _) = run(&["audit", "--actions"]);
    let last = actions.lines().last().unwrap();
    assert!(last.contains("\tops (console)\tteam.add\tsouth\t"), "{actions}");
}
