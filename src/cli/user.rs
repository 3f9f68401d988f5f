//! `jwt-blacklist user ...`: accounts from the command line, through the same services as the
//! admin's HTTP routes (`crate::auth::admin`, `crate::auth::accounts`), as the actor `cli`.

use clap::{Subcommand, ValueEnum};
use serde::Serialize;

use super::{app, password, show, Done, Refusal};
use crate::audit::{Actor, Kind, Source};
use crate::auth::admin::{self, Account, Admin, AdminChange, Query};
use crate::auth::{accounts, error::AuthError};
use crate::domain::{Role, Username};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Lists the accounts by name: role, creation, last login, lock, live sessions. Works
    /// beside a running server.
    List {
        /// Only accounts of this role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// Only accounts locked now.
        #[arg(long)]
        locked: bool,
        /// Prints `{"items": [...], "total": N}` (the fields of GET /api/users) instead of a
        /// table.
        #[arg(long)]
        json: bool,
    },
    /// Shows one account. Works beside a running server.
    Show {
        username: String,
        /// Prints the account as JSON (the fields of GET /api/users/<username>).
        #[arg(long)]
        json: bool,
    },
    /// Creates an account. Its password is typed at the terminal (twice, not shown) or read
    /// from stdin; the sign-up rules apply (at least 8 characters).
    Create {
        username: String,
        /// The account's role.
        #[arg(long, value_enum, default_value_t = RoleArg::User)]
        role: RoleArg,
        /// Reads the password from the first line of stdin instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Gives an account a new password (typed twice, or from stdin) and ends all its sessions.
    SetPassword {
        username: String,
        /// Reads the password from the first line of stdin instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Changes an account's role and ends all its sessions. The last admin who can log in
    /// cannot be demoted.
    SetRole {
        username: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Locks an account until it is unlocked: its logins are refused and all its sessions end.
    /// The last admin who can log in cannot be locked.
    Lock {
        username: String,
        /// Why, for the admins and the audit trail (1 to 200 characters).
        #[arg(long, default_value = "locked from the command line")]
        reason: String,
    },
    /// Lifts an account's lock (whether or not it has one).
    Unlock { username: String },
    /// Removes an account and ends all its sessions. The last admin cannot be removed.
    Delete { username: String },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    User,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::User => Role::User,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Accounts read per query while listing.
const PAGE: u32 = 500;

pub async fn run(command: UserCommand) -> Done {
    match command {
        UserCommand::List { role, locked, json } => list(role, locked, json).await,
        UserCommand::Show { username, json } => {
            let db = app::reader().await?;
            let user = admin::get(&db, &username)
                .await
                .map_err(refusal(&username))?;
            match json {
                true => show::json(&user),
                false => {
                    show::user_lines(&user);
                    Ok(())
                }
            }
        }
        UserCommand::Create {
            username,
            role,
            password_stdin,
        } => create(&username, role.into(), password_stdin).await,
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let from = password::Input::new(password_stdin)?;
            let app = app::writer().await?;
            let new = from.read(&username)?;
            let ended = admin::set_password(&app, Admin::cli(), &username, &new)
                .await
                .map_err(refusal(&username))?;
            println!("password of {username} set; {ended} session(s) ended");
            Ok(())
        }
        UserCommand::SetRole { username, role } => {
            let role = Role::from(role);
            let app = app::writer().await?;
            let ended =
                admin::administer(&app, Admin::cli(), &username, AdminChange::SetRole(role))
                    .await
                    .map_err(refusal(&username))?;
            println!(
                "{username} is now {}; {ended} session(s) ended",
                role.as_str()
            );
            Ok(())
        }
        UserCommand::Lock { username, reason } => {
            let reason = reason.trim();
            if reason.is_empty()
                || reason.chars().count() > 200
                || reason.chars().any(char::is_control)
            {
                return Err(Refusal::refused(
                    "--reason must be 1 to 200 characters, without control characters",
                ));
            }
            let app = app::writer().await?;
            let locked = admin::lock(&app, Admin::cli(), &username, reason.to_owned(), None)
                .await
                .map_err(refusal(&username))?;
            println!(
                "{} locked; {} session(s) ended",
                locked.username, locked.sessions_ended
            );
            Ok(())
        }
        UserCommand::Unlock { username } => {
            let app = app::writer().await?;
            let name = admin::unlock(&app, Admin::cli(), &username)
                .await
                .map_err(refusal(&username))?;
            println!("{name} unlocked");
            Ok(())
        }
        UserCommand::Delete { username } => {
            let app = app::writer().await?;
            let ended = admin::administer(&app, Admin::cli(), &username, AdminChange::Remove)
                .await
                .map_err(refusal(&username))?;
            println!("{username} deleted; {ended} session(s) ended");
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct Page {
    items: Vec<Account>,
    total: i64,
}

async fn list(role: Option<RoleArg>, locked: bool, json: bool) -> Done {
    let db = app::reader().await?;
    let mut items = Vec::new();
    loop {
        let query = Query {
            name_contains: None,
            role: role.map(Role::from),
            locked: locked.then_some(true),
            limit: PAGE,
            offset: items.len() as u64,
        };
        let (page, total) = admin::list(&db, query).await.map_err(refusal(""))?;
        let last = page.len() < PAGE as usize;
        items.extend(page);
        if last || items.len() as i64 >= total {
            break;
        }
    }
    match json {
        true => show::json(&Page {
            total: items.len() as i64,
            items,
        }),
        false => {
            show::user_table(&items);
            Ok(())
        }
    }
}

async fn create(username: &str, role: Role, password_stdin: bool) -> Done {
    let name = Username::parse(username).map_err(Refusal::Refused)?;
    let from = password::Input::new(password_stdin)?;
    // The lock first: beside a running server the operator is refused before typing anything.
    let app = app::writer().await?;
    let password = from.read(username)?;
    accounts::create(
        &app.db,
        &app.hasher,
        &name,
        &password,
        role,
        (Actor::Cli, Source::default()),
    )
    .await
    .map_err(refusal(username))?;
    app.metrics.audit_events(Kind::UserCreated, 1);
    println!("created {name} ({})", role.as_str());
    Ok(())
}

/// A service's refusal as one line about `username`.
pub(super) fn refusal(username: &str) -> impl Fn(AuthError) -> Refusal + '_ {
    move |e| {
        Refusal::Refused(match e {
            AuthError::NoSuchUser => format!("no user {username}"),
            AuthError::UsernameTaken => format!("the name {username} is taken"),
            AuthError::LastAdmin => {
                format!("{username} is the last admin who can log in: make another admin first")
            }
            AuthError::AccountChanged => {
                format!("{username} changed meanwhile; nothing was done: run the command again")
            }
            AuthError::Invalid(why) => why,
            AuthError::Busy => "the password hashing queue is full; try again".to_owned(),
            AuthError::Store(e) => format!("the database did not answer: {e}"),
            e => format!("refused: {e}"),
        })
    }
}
