//! `jwt-blacklist sessions ...`: an account's live sessions, and ending them through the
//! revocation writer as `DELETE /sessions/<id>` does, as the actor `cli`. On PostgreSQL the
//! writer's notice reaches the running servers, which refuse the ended sessions' tokens within
//! `revocation_max_staleness`.

use clap::{ArgGroup, Subcommand};
use serde::Serialize;
use uuid::Uuid;

use super::user::refusal;
use super::{app, show, Done, Refusal};
use crate::audit::{Actor, Event, Kind, Source};
use crate::auth::error::AuthError;
use crate::auth::session_tokens;
use crate::domain::Role;

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// Lists an account's live sessions, newest first. Works beside a running server.
    List {
        username: String,
        /// Prints `{"username", "role", "items": [...]}` (the fields of GET /sessions?username=)
        /// instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Ends one session (by its id, from `sessions list`), or every session of an account
    /// (`--user`, which also refuses every access token issued to it so far).
    #[command(group(ArgGroup::new("which").required(true).args(["id", "user"])))]
    End {
        /// The session's id.
        id: Option<String>,
        /// Ends every session of this account instead.
        #[arg(long, value_name = "USERNAME")]
        user: Option<String>,
    },
}

#[derive(Serialize)]
struct Sessions {
    username: String,
    role: Role,
    items: Vec<show::Session>,
}

pub async fn run(command: SessionsCommand) -> Done {
    match command {
        SessionsCommand::List { username, json } => {
            let db = app::reader().await?;
            let (user, listed) = session_tokens::list_of(&db, &username, Uuid::nil())
                .await
                .map_err(refusal(&username))?;
            let items: Vec<show::Session> = listed.into_iter().map(show::Session::from).collect();
            match json {
                true => show::json(&Sessions {
                    role: Role::from_stored(&user.role),
                    username: user.username,
                    items,
                }),
                false => {
                    show::session_table(&items);
                    Ok(())
                }
            }
        }
        SessionsCommand::End {
            user: Some(username),
            ..
        } => {
            let app = app::writer().await?;
            let event = Event::new(Kind::LogoutAll, Actor::Cli, Source::default());
            let outcome = app
                .revocation
                .end_user_sessions(&username, None, None, event)
                .await
                .map_err(|e| refusal(&username)(AuthError::from_change(e)))?;
            println!("{} session(s) of {username} ended", outcome.sessions_ended);
            Ok(())
        }
        SessionsCommand::End { id, user: None } => {
            let raw = id.unwrap_or_default();
            let gone = || Refusal::refused(format!("no live session {raw}"));
            let id = Uuid::parse_str(&raw).map_err(|_| gone())?;
            let app = app::writer().await?;
            let event = Event::new(Kind::SessionEnded, Actor::Cli, Source::default()).session(id);
            let ended = app
                .revocation
                .end_session(id, None, Some(event))
                .await
                .map_err(|e| refusal("")(AuthError::Store(e)))?;
            match ended {
                true => {
                    println!("session {id} ended");
                    Ok(())
                }
                false => Err(gone()),
            }
        }
    }
}
