//! Interpreter tests against a fake `CommandHost` that records invocations
//! and binds a couple of Exchange-like cmdlets with `bind::bind`.

use super::bind::bind;
use super::host::{
    positional, switch, value, Argument, CmdletSpec, CommandHost, ConfirmImpact, PsError,
};
use super::value::{PsObject, Value};
use super::*;

const GET_SERVER: CmdletSpec = CmdletSpec {
    name: "Get-ExchangeServer",
    params: &[positional("Identity", 0), value("Status")],
    should_process: None,
};
const SET_STATE: CmdletSpec = CmdletSpec {
    name: "Set-ServerComponentState",
    params: &[
        positional("Identity", 0),
        value("Component"),
        value("State"),
        value("Requester"),
        switch("Force"),
    ],
    should_process: Some(ConfirmImpact::High),
};

#[derive(Default)]
struct Fake {
    calls: Vec<(String, Vec<Argument>, Vec<Value>)>,
    pending: Vec<PsError>,
    slept: u64,
}

fn server(name: &str, version: &str) -> Value {
    Value::object(
        PsObject::new("Microsoft.Exchange.Data.Directory.Management.ExchangeServer")
            .with("Name", name)
            .with("AdminDisplayVersion", version)
            .with(
                "ServerRole",
                Value::enumv(
                    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole",
                    "Mailbox",
                    2,
                ),
            )
            .display(name),
    )
}

impl CommandHost for Fake {
    fn invoke(
        &mut self,
        name: &str,
        args: &[Argument],
        input: Vec<Value>,
    ) -> Result<Vec<Value>, PsError> {
        self.calls.push((name.to_string(), args.to_vec(), input));
        match name.to_ascii_lowercase().as_str() {
            "get-exchangeserver" => {
                let b = bind(&GET_SERVER, args)?;
                let all = vec![
                    server("EX01", "Version 15.2 (Build 1544.4)"),
                    server("EX02", "Version 15.2 (Build 1258.12)"),
                ];
                match b.string("Identity") {
                    Some(id) => match all
                        .into_iter()
                        .find(|s| s.property("Name") == Some(Value::str(id.to_uppercase())))
                    {
                        Some(s) => Ok(vec![s]),
                        None => {
                            self.pending.push(
                                PsError::new(
                                    host::ErrorCategory::ObjectNotFound,
                                    "ManagementObjectNotFoundException",
                                    format!("The operation couldn't be performed because object '{id}' couldn't be found."),
                                )
                                .in_command("Get-ExchangeServer"),
                            );
                            Ok(vec![])
                        }
                    },
                    None => Ok(all),
                }
            }
            "set-servercomponentstate" => bind(&SET_STATE, args).map(|_| vec![]),
            "get-itemproperty" => Ok(vec![Value::object(
                PsObject::new("System.Management.Automation.PSCustomObject")
                    .with("Release", 528_449)
                    .with("Version", "4.8.04084"),
            )]),
            _ => Err(PsError::command_not_found(name)),
        }
    }
    fn take_non_terminating(&mut self) -> Vec<PsError> {
        std::mem::take(&mut self.pending)
    }
    fn env_var(&self, name: &str) -> Option<String> {
        name.eq_ignore_ascii_case("COMPUTERNAME")
            .then(|| "EX01".to_string())
    }
    fn now_ms(&self) -> i64 {
        1_632_850_321_807
    }
    fn sleep_ms(&mut self, ms: u64) {
        self.slept += ms;
    }
}

fn out(script: &str) -> ScriptOutput {
    run(script, &mut Fake::default())
}

fn stdout(script: &str) -> String {
    let o = out(script);
    assert_eq!(o.stderr, "", "unexpected stderr for {script}");
    o.stdout
}

#[test]
fn syntax_check_finds_errors() {
    assert_eq!(
        syntax_check("Get-Foo -Bar 'x'\nif ($a) { 1 } else { 2 }"),
        Ok(())
    );
    let e = syntax_check("Get-Foo -Bar 'x").unwrap_err();
    assert_eq!(e[0].line, 1);
    assert!(e[0].message.contains("terminator"), "{e:?}");
    assert!(syntax_check("if ($x) {").is_err());
    let o = out("if ($x) {");
    assert_eq!(o.exit_code, 1);
    assert!(o.stderr.contains("ParserError"), "{}", o.stderr);
}

#[test]
fn statements_and_output_enumeration() {
    assert_eq!(
        stdout("'a'; 1 + 2; $x = 'b'; \"$x c\""),
        "a\r\n3\r\nb c\r\n"
    );
    assert_eq!(
        stdout("@(1,2) ; $null; [void]5; $null = 3; 4 | Out-Null"),
        "1\r\n2\r\n"
    );
    assert_eq!(
        stdout("$a = 1..3; $a.Count; $a[-1]; 1GB"),
        "3\r\n3\r\n1073741824\r\n"
    );
    assert_eq!(
        stdout("$true; -not $true; !$false"),
        "True\r\nFalse\r\nTrue\r\n"
    );
}

#[test]
fn string_expansion_rules() {
    let script = r#"$s = [pscustomobject]@{ Name = 'EX01' }
$n = 'x'
"$n.Length"
"$($s.Name)"
'$n ''q'''
"a`tb `$n ""q"""
"env $env:COMPUTERNAME"
@"
here $n
"@"#;
    assert_eq!(
        stdout(script),
        "x.Length\r\nEX01\r\n$n 'q'\r\na\tb $n \"q\"\r\nenv EX01\r\nhere x\r\n"
    );
}

#[test]
fn hashtables_objects_and_members() {
    let script = r#"$h = @{ a = 1; b = 'x' }
$h.A; $h['b']; $h.Count
$h.c = 3; $h.Keys -join ','
$o = [pscustomobject]@{ Name = 'n'; List = @(1,2) }
$o.name; $o.List.Count
$o.GetType().FullName
@([pscustomobject]@{N=1},[pscustomobject]@{N=2}).N -join '+'
$PSVersionTable.PSVersion.ToString(); $PSVersionTable.PSEdition; "$($PSVersionTable.PSVersion)"
'Abc'.ToUpper(); ' t '.Trim(); 'a,b'.Split(',')[1]; 'hello'.Substring(1,3); 'abc'.Replace('b','X')
[Math]::Round(2.567, 2); [string]::IsNullOrEmpty(''); [Environment]::MachineName
'{0}-{1}' -f 'a', 5
[int]'42' + 1; [string]5 + 1; [bool]0"#;
    assert_eq!(
        stdout(script),
        "1\r\nx\r\n2\r\na,b,c\r\nn\r\n2\r\nSystem.Management.Automation.PSCustomObject\r\n1+2\r\n5.1.17763.1\r\nDesktop\r\n5.1.17763.1\r\nABC\r\nt\r\nb\r\nell\r\naXc\r\n2.57\r\nTrue\r\nEX01\r\na-5\r\n43\r\n51\r\nFalse\r\n"
    );
}

#[test]
fn operators() {
    let script = r#"@(1,2,3) -gt 1 -join ','
'EX01' -like 'ex*'; 'EX01' -clike 'ex*'; 'abc' -match 'b(c)'; $Matches[1]
@('a','b') -contains 'A'; 'a' -in @('b'); 10 % 3; 7 / 2; 'a,b' -split ',' -join '|'
$x = 1; $x += 2; $x; $l = @(); $l += 'a'; $l += 'b'; $l.Count; $s = 'a'; $s += 'b'; $s"#;
    assert_eq!(
        stdout(script),
        "2,3\r\nTrue\r\nFalse\r\nTrue\r\nc\r\nTrue\r\nFalse\r\n1\r\n3.5\r\na|b\r\n3\r\n2\r\nab\r\n"
    );
}

#[test]
fn control_flow() {
    let script = r#"foreach ($i in 1..5) { if ($i -eq 2) { continue } elseif ($i -gt 3) { break } else { $i } }
for ($i = 0; $i -lt 2; $i++) { "f$i" }
$n = 0; while ($true) { $n++; if ($n -ge 3) { break } }; $n
& { 'inner'; return; 'never' }
try { throw 'boom' } catch { "caught: $($_.Exception.Message)" } finally { 'fin' }"#;
    assert_eq!(
        stdout(script),
        "1\r\n3\r\nf0\r\nf1\r\n3\r\ninner\r\ncaught: boom\r\nfin\r\n"
    );
}

#[test]
fn throw_and_exit_codes() {
    let o = out("'before'\nthrow 'boom'\n'after'");
    assert_eq!(o.stdout, "before\r\n");
    assert_eq!(o.exit_code, 1);
    assert_eq!(
        o.stderr,
        "boom\r\nAt line:2 char:1\r\n+ throw 'boom'\r\n+ ~~~~~~~~~~~~\r\n    + CategoryInfo          : OperationStopped: (boom:String) [], RuntimeException\r\n    + FullyQualifiedErrorId : boom\r\n"
    );
    assert_eq!(out("exit 3").exit_code, 3);
    assert_eq!(out("'x'").exit_code, 0);
}

#[test]
fn command_not_found_renders_as_5_1() {
    let o = out("Get-Foo");
    assert_eq!(
        o.stderr,
        "Get-Foo : The term 'Get-Foo' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again.\r\nAt line:1 char:1\r\n+ Get-Foo\r\n+ ~~~~~~~\r\n    + CategoryInfo          : ObjectNotFound: (Get-Foo:String) [], CommandNotFoundException\r\n    + FullyQualifiedErrorId : CommandNotFoundException\r\n"
    );
    // Statement-terminating: the script goes on (exit 0), unless Stop.
    let o = out("Get-Foo -Bar 1\n'next'");
    assert_eq!(o.stdout, "next\r\n");
    let o = out("$ErrorActionPreference = 'Stop'\nGet-Foo\n'next'");
    assert_eq!((o.stdout.as_str(), o.exit_code), ("", 1));
}

#[test]
fn arguments_reach_the_host_as_written() {
    let mut h = Fake::default();
    let o = run("Set-ServerComponentState EX01 -Component ServerWideOffline -State:Inactive -Requester 'Maintenance' -Force -Confirm:$false", &mut h);
    assert_eq!(o.stderr, "");
    let (name, args, _) = &h.calls[0];
    assert_eq!(name, "Set-ServerComponentState");
    assert_eq!(
        args,
        &vec![
            Argument::Positional(Value::str("EX01")),
            Argument::Named {
                name: "Component".into(),
                value: Some(Value::str("ServerWideOffline"))
            },
            Argument::Named {
                name: "State".into(),
                value: Some(Value::str("Inactive"))
            },
            Argument::Named {
                name: "Requester".into(),
                value: Some(Value::str("Maintenance"))
            },
            Argument::Named {
                name: "Force".into(),
                value: None
            },
            Argument::Named {
                name: "Confirm".into(),
                value: Some(Value::Bool(false))
            },
        ]
    );
    let mut h = Fake::default();
    run("Get-ExchangeServer -Identity 'a','b' -Status", &mut h);
    assert_eq!(
        h.calls[0].1,
        vec![
            Argument::Named {
                name: "Identity".into(),
                value: Some(Value::Array(vec!["a".into(), "b".into()]))
            },
            Argument::Named {
                name: "Status".into(),
                value: None
            },
        ]
    );
}

#[test]
fn binding_errors_and_confirmation() {
    let o = out("Set-ServerComponentState EX01 -Component X -State Active -Requester Maintenance");
    assert!(
        o.stderr.contains("PowerShell is in NonInteractive mode"),
        "{}",
        o.stderr
    );
    let o = out("Get-ExchangeServer -Serv EX01");
    assert!(o.stderr.starts_with(
        "Get-ExchangeServer : A parameter cannot be found that matches parameter name 'Serv'.\r\nAt line:1 char:20\r\n+ Get-ExchangeServer -Serv EX01\r\n+                    ~~~~~\r\n"
    ), "{}", o.stderr);
    // Prefixes bind; utilities bind too.
    assert_eq!(stdout("(Get-ExchangeServer -Ident ex02).Name"), "EX02\r\n");
    let o = out("@(1) | Select-Object -Frist 1");
    assert!(
        o.stderr.starts_with(
            "Select-Object : A parameter cannot be found that matches parameter name 'Frist'."
        ),
        "{}",
        o.stderr
    );
}

#[test]
fn non_terminating_errors_follow_error_action() {
    let o = out("Get-ExchangeServer nope\n'after'");
    assert_eq!(o.stdout, "after\r\n");
    assert!(
        o.stderr
            .starts_with("Get-ExchangeServer : The operation couldn't be performed"),
        "{}",
        o.stderr
    );
    // The last statement succeeded, so $? is true and the exit code 0.
    assert_eq!(o.exit_code, 0);
    // A failing last statement makes powershell.exe exit 1 ($? false).
    assert_eq!(out("'before'\nGet-ExchangeServer nope").exit_code, 1);
    let o = out("Get-ExchangeServer nope -ErrorAction SilentlyContinue\n'after'");
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("after\r\n", ""));
    let o = out("Get-ExchangeServer nope -ErrorAction Stop\n'after'");
    assert_eq!((o.stdout.as_str(), o.exit_code), ("", 1));
    let o = out("try { Get-ExchangeServer nope -ErrorAction Stop } catch { 'caught ' + $_.Exception.Message }");
    assert!(
        o.stdout.starts_with("caught The operation couldn't"),
        "{o:?}"
    );
    // Without Stop, catch does not see a non-terminating error.
    let o = out("try { Get-ExchangeServer nope } catch { 'caught' }");
    assert_eq!(o.stdout, "");
    let o = out("Write-Error 'bad' -ErrorAction SilentlyContinue; Write-Warning 'careful'; Write-Verbose 'v'");
    assert_eq!(o.stderr, "WARNING: careful\r\n");
}

#[test]
fn utility_cmdlets() {
    let script = r#"$s = Get-ExchangeServer
$s | Where-Object { $_.Name -like '*2' } | ForEach-Object { $_.Name }
($s | Where-Object Name -eq 'EX01').AdminDisplayVersion
$s | ForEach-Object Name
$s | Select-Object -ExpandProperty Name -Last 1
($s | Select-Object Name, @{Name='V'; Expression={ $_.AdminDisplayVersion.Split(' ')[-1] }} -First 1).V
$s | Sort-Object Name -Descending | Select-Object -First 1 -ExpandProperty Name
(1,5,3 | Measure-Object -Sum -Maximum).Sum
(@(1,2,2) | Group-Object).Count
Join-Path 'C:\Program Files\' 'Exchange'; Split-Path 'C:\a\b.txt' -Leaf; Split-Path 'C:\a' -Parent
(Get-Date).ToString('o'); Get-Date -Format 'yyyy-MM-dd'
Write-Host 'hi' 'there'
Start-Sleep -Seconds 2
Write-Output 1,2"#;
    let mut h = Fake::default();
    let o = run(script, &mut h);
    assert_eq!(o.stderr, "");
    assert_eq!(
        o.stdout,
        "EX02\r\nVersion 15.2 (Build 1544.4)\r\nEX01\r\nEX02\r\nEX02\r\n1544.4)\r\nEX02\r\n9\r\n2\r\nC:\\Program Files\\Exchange\r\nb.txt\r\nC:\\\r\n2021-09-28T17:32:01.8070000Z\r\n2021-09-28\r\nhi there\r\n1\r\n2\r\n"
    );
    assert_eq!(h.slept, 2000);
}

#[test]
fn convert_to_json_pipeline_semantics() {
    assert_eq!(
        stdout("Get-ExchangeServer | Select-Object Name | ConvertTo-Json -Compress"),
        "[{\"Name\":\"EX01\"},{\"Name\":\"EX02\"}]\r\n"
    );
    assert_eq!(
        stdout("Get-ExchangeServer ex01 | Select-Object Name | ConvertTo-Json -Compress"),
        "{\"Name\":\"EX01\"}\r\n"
    );
    assert_eq!(
        stdout(
            "ConvertTo-Json -InputObject @(Get-ExchangeServer ex01 | Select-Object Name) -Compress"
        ),
        "[{\"Name\":\"EX01\"}]\r\n"
    );
    assert_eq!(
        stdout("@() | ConvertTo-Json; ConvertTo-Json -InputObject $null; $null | ConvertTo-Json"),
        ""
    );
    assert_eq!(stdout("Get-ExchangeServer ex01 | ConvertTo-Json -Compress"), "{\"Name\":\"EX01\",\"AdminDisplayVersion\":\"Version 15.2 (Build 1544.4)\",\"ServerRole\":2}\r\n");
    assert_eq!(
        stdout("('{\"a\":[1,2]}' | ConvertFrom-Json).a.Count"),
        "2\r\n"
    );
}

#[test]
fn report_style_script() {
    let script = r#"$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$net = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' -ErrorAction SilentlyContinue
$servers = @(Get-ExchangeServer | ForEach-Object { [pscustomobject]@{ Name = $_.Name; Role = $_.ServerRole; Build = ($_.AdminDisplayVersion -split ' ')[1] } })
[pscustomobject]@{
    Computer = $env:COMPUTERNAME
    DotNet = if ($net) { $net.Release } else { 0 }
    Servers = $servers
    Checked = (Get-Date).ToUniversalTime().ToString('o')
} | ConvertTo-Json -Depth 4 -Compress"#;
    let o = out(script);
    // `if` as a value is not PowerShell 5.1 syntax either; the lab says so.
    assert_eq!(o.exit_code, 1, "{o:?}");
    let script = script.replace(
        "DotNet = if ($net) { $net.Release } else { 0 }",
        "DotNet = $net.Release",
    );
    let o = out(&script);
    assert_eq!(o.stderr, "");
    assert_eq!(
        o.stdout,
        "{\"Computer\":\"EX01\",\"DotNet\":528449,\"Servers\":[{\"Name\":\"EX01\",\"Role\":2,\"Build\":\"15.2\"},{\"Name\":\"EX02\",\"Role\":2,\"Build\":\"15.2\"}],\"Checked\":\"2021-09-28T17:32:01.8070000Z\"}\r\n"
    );
}

#[test]
fn unsupported_constructs_fail_clearly() {
    let o = out("function f { 1 }\n'after'");
    assert_eq!(o.exit_code, 1);
    assert!(
        o.stderr
            .starts_with("The lab does not support function definitions (line 1)"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("NotImplemented"));
    assert_eq!(o.stdout, "");
}

#[test]
fn objects_render_as_lists() {
    assert_eq!(
        stdout("[pscustomobject]@{ A = 1; Bee = 'x' }"),
        "\r\nA   : 1\r\nBee : x\r\n\r\n"
    );
}

#[test]
fn confirm_false_passes_and_pretty_json_is_crlf() {
    let o = out("Set-ServerComponentState EX01 -Component HubTransport -State Draining -Requester Maintenance -Confirm:$false");
    assert_eq!((o.stderr.as_str(), o.exit_code), ("", 0));
    assert_eq!(
        stdout("@{ a = 1; b = @(1) } | ConvertTo-Json"),
        "{\r\n    \"a\":  1,\r\n    \"b\":  [\r\n              1\r\n          ]\r\n}\r\n"
    );
}

fn with_stdin(script: &str, stdin: &str) -> ScriptOutput {
    run_with_stdin(script, stdin, &mut Fake::default())
}

#[test]
fn a_base64_stdin_bootstrap_runs_the_script_it_reads() {
    use base64::Engine;
    let script = "$x = 40 + 2\n\"é $x\"\nGet-ExchangeServer ex02 | ForEach-Object { $_.Name }";
    let payload = base64::engine::general_purpose::STANDARD.encode(script.as_bytes());
    // Two spellings of the same idea; neither is matched by its text.
    for boot in [
        "$s=[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadToEnd()));& ([scriptblock]::Create($s))",
        "$bytes = [System.Convert]::FromBase64String([System.Console]::In.ReadToEnd())\n$text = [System.Text.Encoding]::UTF8.GetString($bytes)\n$sb = [System.Management.Automation.ScriptBlock]::Create($text)\n& $sb",
    ] {
        let o = with_stdin(boot, &payload);
        assert_eq!((o.stdout.as_str(), o.stderr.as_str(), o.exit_code), ("é 42\r\nEX02\r\n", "", 0), "{boot}");
    }
}

#[test]
fn console_in_reads_stdin_once_and_plain_text_can_be_run() {
    let o = with_stdin(
        "$t = [Console]::In.ReadToEnd() | Out-String\n$again = [Console]::In.ReadToEnd()\n\"[$again]\"\n& ([scriptblock]::Create($t))",
        "'from stdin'\r\n",
    );
    assert_eq!(
        (o.stdout.as_str(), o.exit_code),
        ("[]\r\nfrom stdin\r\n", 0),
        "{}",
        o.stderr
    );
    let lines = with_stdin(
        "$a = [Console]::In.ReadLine(); $b = [Console]::In.ReadLine(); $c = [Console]::In.ReadLine(); \"$a|$b|$($c -eq $null)\"",
        "one\r\ntwo",
    );
    assert_eq!(lines.stdout, "one|two|True\r\n");
}

#[test]
fn a_created_block_reports_its_own_errors_and_exit_code() {
    let o = with_stdin(
        "& ([scriptblock]::Create([Console]::In.ReadToEnd()))",
        "'a'\nexit 3",
    );
    assert_eq!(
        (o.stdout.as_str(), o.exit_code),
        ("a\r\n", 3),
        "{}",
        o.stderr
    );
    let o = with_stdin(
        "& ([scriptblock]::Create([Console]::In.ReadToEnd()))",
        "$ErrorActionPreference = 'Stop'\n'before'\nGet-NoSuchThing\n'after'",
    );
    assert_eq!((o.stdout.as_str(), o.exit_code), ("before\r\n", 1));
    assert!(o.stderr.contains("Get-NoSuchThing"), "{}", o.stderr);
    let o = out("& ([scriptblock]::Create('if ($x) {'))");
    assert_eq!(o.exit_code, 1);
    assert!(
        o.stderr.contains("Exception calling \"Create\""),
        "{}",
        o.stderr
    );
    let o = out("[Text.Encoding]::UTF8.GetString($null)");
    assert!(o.stderr.contains("Array cannot be null"), "{}", o.stderr);
}
