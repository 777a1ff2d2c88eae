//! An endpoint a desired-state file names is sent an admin UserSig with every request, so one
//! that is neither Tencent's nor this machine is refused before any request until whoever runs
//! livehook allows it (`--allow-endpoint`, `LIVEHOOK_ALLOW_ENDPOINTS`). The endpoint's host is
//! reached through a proxy on loopback that counts connections: it sees none until allowed.

use crate::saved_plan_forgery::ForgedHost;
use crate::support::{CREATE_ROOM, SECRET_KEY, livehook, stderr, stdout};

const YAML: &str = "version: 1
defaults:
  endpoint: https://gw.example.com
apps:
  prod-sg:
    sdkappid: 1400000001
    callback: {url: https://hooks.example.com/tim, commands: [CREATE_ROOM]}
  prod-us:
    sdkappid: 1400000002
    callback: {url: https://hooks.example.com/tim, commands: [CREATE_ROOM]}
";

struct Pr {
    dir: tempfile::TempDir,
    host: ForgedHost,
}

impl Pr {
    fn new() -> Pr {
        let dir = tempfile::tempdir().unwrap();
        let yaml = YAML.replace("CREATE_ROOM", CREATE_ROOM);
        std::fs::write(dir.path().join("livehook.yaml"), yaml).unwrap();
        Pr {
            dir,
            host: ForgedHost::start(),
        }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let proxy = self.host.url();
        let mut all = vec![("TIM_SECRET_KEY", SECRET_KEY), ("HTTPS_PROXY", &proxy)];
        all.extend_from_slice(env);
        livehook(self.dir.path(), args, &all)
    }
}

#[test]
fn plan_apply_and_export_refuse_an_endpoint_no_one_allowed_before_any_request() {
    let pr = Pr::new();
    for command in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["export", "livehook.yaml"],
    ] {
        let output = pr.run(command, &[]);
        assert_eq!(output.status.code(), Some(1), "{command:?}");
        assert_eq!(stdout(&output), "", "{command:?}");
        insta::assert_snapshot!("untrusted_endpoint", stderr(&output));
        assert_eq!(pr.host.connections(), 0, "{command:?} contacted the host");
    }
}

#[test]
fn an_endpoint_allowed_on_the_command_line_or_in_the_environment_is_used() {
    let pr = Pr::new();
    // Kept short: the proxy never answers.
    let quick = ["--request-timeout", "0.5", "--retry-for", "1s"];
    let flag = pr.run(
        &[
            &["plan", "--allow-endpoint", "https://gw.example.com"][..],
            &quick,
        ]
        .concat(),
        &[],
    );
    assert_eq!(flag.status.code(), Some(1), "{}", stderr(&flag));
    assert!(pr.host.connections() > 0, "{}", stderr(&flag));

    let env = pr.run(
        &[&["plan"][..], &quick].concat(),
        &[(
            "LIVEHOOK_ALLOW_ENDPOINTS",
            "https://other.example.com,https://gw.example.com/any/path",
        )],
    );
    assert_eq!(env.status.code(), Some(1), "{}", stderr(&env));
    assert!(pr.host.connections() > 0, "{}", stderr(&env));
}

#[test]
fn an_allowance_is_checked_like_an_endpoint() {
    let pr = Pr::new();
    let output = pr.run(&["plan", "--allow-endpoint", "http://gw.example.com"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(
            "invalid value 'http://gw.example.com' for '--allow-endpoint <URL>': plain http is \
             allowed only on loopback"
        ),
        "{}",
        stderr(&output)
    );
    assert_eq!(pr.host.connections(), 0);
}
