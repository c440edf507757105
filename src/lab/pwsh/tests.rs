//! Interpreter tests against a fake `CommandHost` that records invocations.

use super::host::{Argument, CommandHost, PsError};
use super::value::Value;
use super::*;

#[derive(Default)]
struct Fake {
    calls: Vec<(String, Vec<Argument>, Vec<Value>)>,
}

impl CommandHost for Fake {
    fn invoke(&mut self, name: &str, args: &[Argument], input: Vec<Value>) -> Result<Vec<Value>, PsError> {
        self.calls.push((name.to_string(), args.to_vec(), input));
        match name {
            "Get-One" => Ok(vec![Value::Int(1)]),
            _ => Err(PsError::command_not_found(name)),
        }
    }
    fn env_var(&self, name: &str) -> Option<String> {
        (name.eq_ignore_ascii_case("COMPUTERNAME")).then(|| "EX01".to_string())
    }
}

fn out(script: &str) -> ScriptOutput {
    run(script, &mut Fake::default())
}

#[test]
fn smoke() {
    let o = out("'a'; 1 + 2; $x = 'b'; \"$x c\"");
    assert_eq!(o.stdout, "a\r\n3\r\nb c\r\n", "{o:?}");
    assert_eq!(o.exit_code, 0);
}
