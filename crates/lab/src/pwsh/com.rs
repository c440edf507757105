//! COM objects in the interpreter: `New-Object -ComObject Schedule.Service`
//! and the Task Scheduler scripting objects cu-roll uses to register a task
//! without a cmdlet parameter holding the password (Microsoft Learn, "Task
//! Scheduler Scripting Objects": TaskService.Connect/GetFolder/NewTask,
//! TaskDefinition.Settings/Principal/Actions, ActionCollection.Create,
//! ExecAction.Path/Arguments, TaskFolder.RegisterTaskDefinition). COM
//! objects are references: the value a script holds is a handle (type
//! `System.__ComObject`, the id in `internal`) into this per-process store,
//! so `$exec = $definition.Actions.Create(0); $exec.Path = …` changes the
//! definition. Method calls and property sets are not command invocations:
//! nothing here writes the 4103 log. Registering is the host's business
//! (`CommandHost::register_task`); this module must not touch world state.

use indexmap::IndexMap;

use super::convert::to_ps_string;
use super::files::calling;
use super::host::{CommandHost, TaskRegistration};
use super::ops::to_int;
use super::value::{PsObject, Value};

const COM_TYPE: &str = "System.__ComObject";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Service,
    Folder,
    Definition,
    Settings,
    Principal,
    Actions,
    ExecAction,
    RegisteredTask,
}

/// Writable properties per kind, with their defaults (ITaskSettings:
/// Priority 7, DisallowStartIfOnBatteries and StopIfGoingOnBatteries true,
/// ExecutionTimeLimit PT72H; IPrincipal: RunLevel 0 = TASK_RUNLEVEL_LUA).
fn defaults(kind: Kind) -> Vec<(&'static str, Value)> {
    match kind {
        Kind::Settings => vec![
            ("Priority", Value::Int(7)),
            ("DisallowStartIfOnBatteries", Value::Bool(true)),
            ("StopIfGoingOnBatteries", Value::Bool(true)),
            ("ExecutionTimeLimit", Value::str("PT72H")),
            ("Enabled", Value::Bool(true)),
            ("Hidden", Value::Bool(false)),
        ],
        Kind::Principal => vec![
            ("RunLevel", Value::Int(0)),
            ("UserId", Value::Null),
            ("LogonType", Value::Int(0)),
        ],
        Kind::ExecAction => vec![
            ("Type", Value::Int(0)),
            ("Path", Value::Null),
            ("Arguments", Value::Null),
            ("WorkingDirectory", Value::Null),
        ],
        Kind::Service => vec![("Connected", Value::Bool(false))],
        Kind::Folder => vec![("Path", Value::str("\\"))],
        Kind::Actions => vec![("Count", Value::Int(0))],
        Kind::Definition | Kind::RegisteredTask => vec![],
    }
}

struct Obj {
    kind: Kind,
    props: IndexMap<String, Value>,
    /// Definition: settings, principal, actions; Actions: its exec actions.
    children: Vec<usize>,
}

/// The COM objects a script created, for the life of its process.
#[derive(Default)]
pub(crate) struct Objects {
    objs: Vec<Obj>,
}

fn handle(id: usize) -> Value {
    let mut o = PsObject::new(COM_TYPE).display(COM_TYPE);
    o.internal = Some(format!("com:{id}"));
    Value::object(o)
}

/// The store id a value is a handle of.
pub(crate) fn id_of(v: &Value) -> Option<usize> {
    let Value::Object(o) = v else { return None };
    if o.type_names.first().map(String::as_str) != Some(COM_TYPE) {
        return None;
    }
    o.internal.as_deref()?.strip_prefix("com:")?.parse().ok()
}

impl Objects {
    fn add(&mut self, kind: Kind) -> usize {
        let props = defaults(kind)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        self.objs.push(Obj {
            kind,
            props,
            children: Vec::new(),
        });
        self.objs.len() - 1
    }

    /// `New-Object -ComObject ProgId`: only the Task Scheduler's service.
    pub(crate) fn create(&mut self, prog_id: &str) -> Result<Value, String> {
        if prog_id.eq_ignore_ascii_case("Schedule.Service") {
            return Ok(handle(self.add(Kind::Service)));
        }
        // The message New-Object gives for an unknown ProgID.
        Err(format!(
            "Retrieving the COM class factory for component with CLSID {{00000000-0000-0000-0000-000000000000}} failed due to the following error: 80040154 Class not registered (Exception from HRESULT: 0x80040154 (REGDB_E_CLASSNOTREG)). ProgID: {prog_id}"
        ))
    }

    fn prop_key(&self, id: usize, name: &str) -> Option<String> {
        self.objs[id]
            .props
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
    }

    /// `$obj.Name`.
    pub(crate) fn get(&self, id: usize, name: &str) -> Value {
        let o = &self.objs[id];
        let child = |i: usize| o.children.get(i).map_or(Value::Null, |c| handle(*c));
        match (o.kind, name.to_ascii_lowercase().as_str()) {
            (Kind::Definition, "settings") => child(0),
            (Kind::Definition, "principal") => child(1),
            (Kind::Definition, "actions") => child(2),
            (Kind::Actions, "count") => Value::Int(o.children.len() as i64),
            _ => self
                .prop_key(id, name)
                .map_or(Value::Null, |k| o.props[&k].clone()),
        }
    }

    /// `$obj.Name = value`: a property the object does not have fails.
    pub(crate) fn set(&mut self, id: usize, name: &str, v: Value) -> Result<(), String> {
        let read_only = matches!(
            self.objs[id].kind,
            Kind::Service | Kind::Folder | Kind::Actions
        ) || name.eq_ignore_ascii_case("Type");
        match self.prop_key(id, name) {
            Some(k) if !read_only => {
                self.objs[id].props.insert(k, v);
                Ok(())
            }
            Some(_) => Err(format!("'{name}' is a ReadOnly property.")),
            None => Err(format!("The property '{name}' cannot be found on this object. Verify that the property exists and can be set.")),
        }
    }

    /// `$obj.Method(args)`; `None` when the object has no such method.
    pub(crate) fn call(
        &mut self,
        host: &mut dyn CommandHost,
        id: usize,
        method: &str,
        args: &[Value],
    ) -> Option<Result<Value, String>> {
        let m = method.to_ascii_lowercase();
        let fail = |msg: &str| Some(Err(calling(method, args, msg)));
        let kind = self.objs[id].kind;
        let connected = || self.objs[id].props.get("Connected") == Some(&Value::Bool(true));
        Some(Ok(match (kind, m.as_str()) {
            (Kind::Service, "connect") => {
                self.objs[id]
                    .props
                    .insert("Connected".into(), Value::Bool(true));
                Value::Null
            }
            // Before Connect the service answers 0x800704DD (UNVERIFIED text).
            (Kind::Service, "getfolder" | "newtask") if !connected() => {
                return fail(
                    "The service has not been started. (Exception from HRESULT: 0x800704DD)",
                )
            }
            (Kind::Service, "getfolder") => {
                let path = args.first().map(to_ps_string).unwrap_or_default();
                if path != "\\" {
                    // Only the root folder exists in the lab.
                    return fail("The system cannot find the file specified. (Exception from HRESULT: 0x80070002)");
                }
                handle(self.add(Kind::Folder))
            }
            // NewTask's flags are reserved and must be 0.
            (Kind::Service, "newtask") => {
                let def = self.add(Kind::Definition);
                let children = vec![
                    self.add(Kind::Settings),
                    self.add(Kind::Principal),
                    self.add(Kind::Actions),
                ];
                self.objs[def].children = children;
                handle(def)
            }
            // TASK_ACTION_EXEC = 0; the lab has no other action types.
            (Kind::Actions, "create") => {
                if args.first().map(to_int) != Some(Some(0)) {
                    return fail("The parameter is incorrect. (Exception from HRESULT: 0x80070057 (E_INVALIDARG))");
                }
                let action = self.add(Kind::ExecAction);
                self.objs[id].children.push(action);
                handle(action)
            }
            (Kind::Folder, "registertaskdefinition") => {
                return Some(
                    self.register(host, args)
                        .map_err(|e| calling(method, args, &e)),
                )
            }
            _ => return None,
        }))
    }

    /// TaskFolder.RegisterTaskDefinition(path, definition, flags, userId,
    /// password, logonType[, sddl]).
    fn register(&mut self, host: &mut dyn CommandHost, args: &[Value]) -> Result<Value, String> {
        let invalid =
            "The parameter is incorrect. (Exception from HRESULT: 0x80070057 (E_INVALIDARG))";
        if !(6..=7).contains(&args.len()) {
            return Err(invalid.to_string());
        }
        let def = id_of(&args[1])
            .filter(|d| self.objs[*d].kind == Kind::Definition)
            .ok_or(invalid)?;
        let [settings, principal, actions] = self.objs[def].children[..] else {
            return Err(invalid.to_string());
        };
        let action = *self.objs[actions].children.first().ok_or(invalid)?;
        let text = |id: usize, p: &str| match self.get(id, p) {
            Value::Null => None,
            v => Some(to_ps_string(&v)),
        };
        let int = |id: usize, p: &str| to_int(&self.get(id, p)).unwrap_or(0);
        let opt = |v: &Value| match v {
            Value::Null => None,
            v => Some(to_ps_string(v)),
        };
        let reg = TaskRegistration {
            name: to_ps_string(&args[0]),
            execute: text(action, "Path").ok_or(invalid)?,
            arguments: text(action, "Arguments"),
            flags: to_int(&args[2]).unwrap_or(0),
            user: opt(&args[3]).or_else(|| text(principal, "UserId")),
            password: opt(&args[4]),
            logon_type: to_int(&args[5]).unwrap_or(0),
            run_level: int(principal, "RunLevel"),
            priority: int(settings, "Priority"),
        };
        host.register_task(&reg)?;
        let task = self.add(Kind::RegisteredTask);
        self.objs[task]
            .props
            .insert("Name".into(), Value::String(reg.name));
        Ok(handle(task))
    }
}
