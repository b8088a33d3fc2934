//! etcd's v2 API pieces that need more than one request: the watch loop.
pub mod watch;
