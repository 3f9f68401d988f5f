//! Starts the server; everything is assembled in `lib.rs`.

#[rocket::launch]
fn rocket() -> _ {
    jwt_blacklist::rocket()
}
