//! Load benchmark against the running service: to come with the JSON API.
fn main() {
    println!("load benchmark: the service's JSON API is not in this build yet; nothing measured");
}
