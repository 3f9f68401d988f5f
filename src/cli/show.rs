//! How `user list`, `user show` and `sessions list` print: with `--json` the same fields as the
//! HTTP API's (`GET /api/users`, `GET /api/users/<name>`, `GET /sessions?username=`), else
//! aligned columns or `key: value` lines. Never a hash nor any token material: nothing here
//! reads them.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::Refusal;
use crate::auth::admin::Account;
use crate::auth::session_tokens::Listed;
use crate::db::from_db_time;

/// A live session as printed.
#[derive(Serialize)]
pub struct Session {
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_used_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    user_agent: String,
    ip: Option<String>,
    device: String,
    name: Option<String>,
}

impl From<Listed> for Session {
    fn from(Listed { row, .. }: Listed) -> Self {
        Self {
            id: row.id,
            created_at: from_db_time(row.created_at),
            last_used_at: from_db_time(row.last_used_at),
            expires_at: from_db_time(row.expires_at),
            user_agent: row.user_agent,
            ip: row.ip,
            device: row.device,
            name: row.name,
        }
    }
}

/// Prints `value` as one JSON document.
pub fn json(value: &impl Serialize) -> Result<(), Refusal> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Refusal::refused(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

fn when(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}

fn lock_of(user: &Account) -> String {
    match (user.locked, user.locked_until) {
        (false, _) => "no".to_owned(),
        (true, None) => "until unlocked".to_owned(),
        (true, until) => format!("until {}", when(until)),
    }
}

/// Accounts as aligned columns, then how many.
pub fn user_table(users: &[Account]) {
    let rows: Vec<[String; 6]> = users
        .iter()
        .map(|u| {
            [
                u.username.clone(),
                u.role.as_str().to_owned(),
                when(Some(u.created_at)),
                when(u.last_login_at),
                lock_of(u),
                u.live_sessions.to_string(),
            ]
        })
        .collect();
    let head = [
        "USERNAME",
        "ROLE",
        "CREATED",
        "LAST LOGIN",
        "LOCKED",
        "SESSIONS",
    ];
    table(&head, &rows);
    println!("{} account(s)", users.len());
}

/// One account as `key: value` lines.
pub fn user_lines(user: &Account) {
    let mfa = match user.mfa.is_empty() {
        true => "none".to_owned(),
        false => user.mfa.join(", "),
    };
    println!("username:      {}", user.username);
    println!("role:          {}", user.role.as_str());
    println!("created:       {}", when(Some(user.created_at)));
    println!("last login:    {}", when(user.last_login_at));
    println!("locked:        {}", lock_of(user));
    if let Some(reason) = user.lock_reason.as_deref().filter(|_| user.locked) {
        println!("lock reason:   {reason}");
    }
    println!("live sessions: {}", user.live_sessions);
    println!("second factor: {mfa}");
}

/// Sessions as aligned columns, then how many.
pub fn session_table(sessions: &[Session]) {
    let rows: Vec<[String; 6]> = sessions
        .iter()
        .map(|s| {
            [
                s.id.clone(),
                when(Some(s.created_at)),
                when(Some(s.last_used_at)),
                s.ip.clone().unwrap_or_else(|| "-".to_owned()),
                s.device.clone(),
                s.name.clone().unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let head = ["ID", "CREATED", "LAST USED", "IP", "DEVICE", "NAME"];
    table(&head, &rows);
    println!("{} live session(s)", sessions.len());
}

fn table<const N: usize>(head: &[&str; N], rows: &[[String; N]]) {
    let mut widths = head.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(head.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}
