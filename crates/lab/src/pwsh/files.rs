//! The .NET static methods that read and write file bytes —
//! `[System.IO.File]::ReadAllBytes`, `[System.IO.File]::WriteAllBytes` —
//! and the base64 conversions that carry bytes through text
//! (`[Convert]::ToBase64String`, `[Convert]::FromBase64String`). File
//! access goes through the `CommandHost`, which owns the files; the
//! interpreter never touches the local disk. A `byte[]` is an array of
//! integers 0..=255, as PowerShell enumerates one.

use base64::Engine;

use super::host::CommandHost;
use super::ops::to_int;
use super::value::Value;

/// `Exception calling "M" with "N" argument(s): "…"`: how 5.1 reports a
/// .NET method's exception (MethodInvocationException).
pub(crate) fn calling(method: &str, args: &[Value], message: &str) -> String {
    format!(
        "Exception calling \"{method}\" with \"{}\" argument(s): \"{message}\"",
        args.len()
    )
}

pub(crate) fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| to_int(x).and_then(|i| u8::try_from(i).ok()))
            .collect(),
        Value::Null => None,
        one => to_int(one)
            .and_then(|i| u8::try_from(i).ok())
            .map(|b| vec![b]),
    }
}

pub(crate) fn byte_array(bytes: &[u8]) -> Value {
    Value::Array(bytes.iter().map(|b| Value::Int(i64::from(*b))).collect())
}

/// The static methods above; `None` when `ty::name` is not one of them.
pub(crate) fn static_method(
    host: &mut dyn CommandHost,
    ty: &str,
    name: &str,
    args: &[Value],
) -> Option<Result<Value, String>> {
    let ty = ty.to_ascii_lowercase();
    let ty = ty.strip_prefix("system.").unwrap_or(&ty);
    let arg_str = |i: usize| {
        args.get(i)
            .map(super::convert::to_ps_string)
            .unwrap_or_default()
    };
    let out = match (ty, name.to_ascii_lowercase().as_str()) {
        ("io.file", "readallbytes") => host
            .read_file_bytes(&arg_str(0))
            .map(|b| byte_array(&b))
            .map_err(|m| calling("ReadAllBytes", args, &m)),
        ("io.file", "writeallbytes") => {
            let Some(bytes) = args.get(1).and_then(bytes_of) else {
                return Some(Err(calling(
                    "WriteAllBytes",
                    args,
                    "Value cannot be null.\r\nParameter name: bytes",
                )));
            };
            host.write_file_bytes(&arg_str(0), &bytes)
                .map(|()| Value::Null)
                .map_err(|m| calling("WriteAllBytes", args, &m))
        }
        ("convert", "tobase64string") => {
            let bytes = args.first().and_then(bytes_of).unwrap_or_default();
            let (offset, length) = match (args.get(1), args.get(2)) {
                (Some(o), Some(l)) => (to_int(o).unwrap_or(-1), to_int(l).unwrap_or(-1)),
                _ => (0, bytes.len() as i64),
            };
            let in_range = offset >= 0
                && length >= 0
                && offset
                    .checked_add(length)
                    .is_some_and(|end| end <= bytes.len() as i64);
            if !in_range {
                return Some(Err(calling(
                    "ToBase64String",
                    args,
                    "Offset and length must refer to a position in the string.\r\nParameter name: offset",
                )));
            }
            let (o, l) = (offset as usize, length as usize);
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(&bytes[o..o + l]),
            ))
        }
        ("convert", "frombase64string") => base64::engine::general_purpose::STANDARD
            .decode(arg_str(0).trim())
            .map(|b| byte_array(&b))
            .map_err(|_| {
                calling(
                    "FromBase64String",
                    args,
                    "The input is not a valid Base-64 string as it contains a non-base 64 character, \
                     more than two padding characters, or an illegal character among the padding characters. ",
                )
            }),
        _ => return None,
    };
    Some(out)
}
