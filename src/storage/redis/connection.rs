//! The connection under [`RedisStorage`]: one server (a reconnecting
//! `ConnectionManager`) or a Redis Cluster (`cluster_async::ClusterConnection`,
//! which routes each command by its first key and follows `MOVED`/`ASK`).
//!
//! Scripts and single-key commands run unchanged on both. What differs:
//! commands on keys of different slots (indexes, batches of reads) are one
//! pipeline on a server but one command each on a cluster, and `SCAN` walks
//! every master of a cluster.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, ConnectionAddr, IntoConnectionInfo, Pipeline, RedisFuture, RedisResult, Value};

use super::{tls, RedisConfig, RedisStorage};
use crate::storage::StorageError;

/// A connection to one server or to a cluster; cheap to clone (both multiplex).
#[derive(Clone)]
pub(super) enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// What to connect to, built once by `connect()` (TLS material read and
/// checked there); each attempt opens a connection from it.
// Built once per `connect()` and dropped after it: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Target {
    Single(redis::Client),
    Cluster(redis::cluster::ClusterClient),
}

/// The client for `config`: plaintext, or TLS (`rediss://`) with the CA and
/// client certificate of `config`; a TLS address never connects in plaintext.
pub(super) fn target(c: &RedisConfig, timeout: Duration) -> Result<Target, StorageError> {
    let certificates = tls::certificates(c)?;
    let invalid = |e: redis::RedisError| {
        tls::handshake_error(&c.address(), &e.to_string())
            .unwrap_or_else(|| StorageError::Configuration(format!("Redis at {}: {e}", c.address())))
    };
    if c.cluster_nodes.is_empty() {
        let mut settings = redis::RedisConnectionInfo::default().set_db(c.db);
        if let Some(username) = &c.username {
            settings = settings.set_username(username);
        }
        if let Some(password) = &c.password {
            settings = settings.set_password(password);
        }
        let client = match certificates {
            None => {
                let info =
                    ConnectionAddr::Tcp(c.host.clone(), c.port).into_connection_info().map_err(invalid)?;
                redis::Client::open(info.set_redis_settings(settings)).map_err(invalid)?
            }
            Some(certificates) => {
                let addr = ConnectionAddr::TcpTls {
                    host: c.host.clone(),
                    port: c.port,
                    insecure: false,
                    tls_params: None,
                };
                let info = addr.into_connection_info().map_err(invalid)?.set_redis_settings(settings);
                redis::Client::build_with_tls(info, certificates).map_err(invalid)?
            }
        };
        return Ok(Target::Single(client));
    }
    let scheme = if c.tls { "rediss" } else { "redis" };
    let seeds: Vec<String> = c.cluster_nodes.iter().map(|node| format!("{scheme}://{node}")).collect();
    let mut builder = ClusterClientBuilder::new(seeds)
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .retries(1)
        .min_retry_wait(c.connection_retry_delay.max(1))
        .max_retry_wait(c.max_retry_delay.max(1));
    if let Some(username) = &c.username {
        builder = builder.username(username);
    }
    if let Some(password) = &c.password {
        builder = builder.password(password);
    }
    if let Some(certificates) = certificates {
        builder = builder.tls(redis::TlsMode::Secure).certs(certificates);
    }
    Ok(Target::Cluster(builder.build().map_err(invalid)?))
}

/// One attempt at connecting (the caller bounds and retries it).
pub(super) async fn open_once(
    target: &Target,
    c: &RedisConfig,
    timeout: Duration,
) -> RedisResult<Connection> {
    let mut connection = match target {
        Target::Single(client) => {
            let manager_config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(c.connection_retry_delay.max(1)))
                .set_max_delay(Duration::from_millis(c.max_retry_delay.max(1)));
            Connection::Single(ConnectionManager::new_with_config(client.clone(), manager_config).await?)
        }
        Target::Cluster(client) => Connection::Cluster(client.get_async_connection().await?),
    };
    redis::cmd("PING").query_async::<String>(&mut connection).await?;
    Ok(connection)
}

/// The masters of a cluster, from `CLUSTER NODES` (`<id> <ip:port@cport> <flags> …`).
fn masters(nodes: &str) -> Vec<(String, u16)> {
    nodes
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = fields.nth(1)?;
            let flags = fields.next()?;
            if !flags.split(',').any(|f| f == "master") || flags.contains("fail") {
                return None;
            }
            let (host, port) = address.split('@').next()?.rsplit_once(':')?;
            Some((host.trim_start_matches('[').trim_end_matches(']').to_string(), port.parse().ok()?))
        })
        .collect()
}

impl RedisStorage {
    /// Commands on keys that may sit in different slots: one pipeline on a
    /// server, one command each on a cluster. One reply per command.
    pub(super) async fn each(
        &self,
        connection: &mut Connection,
        commands: Vec<Cmd>,
    ) -> Result<Vec<Value>, StorageError> {
        if let Connection::Single(_) = connection {
            let mut pipe = redis::pipe();
            for command in commands {
                pipe.add_command(command);
            }
            return self.bounded(pipe.query_async(connection)).await;
        }
        let mut out = Vec::with_capacity(commands.len());
        for command in commands {
            out.push(self.bounded(command.query_async(connection)).await?);
        }
        Ok(out)
    }

    /// A reply as `T`, or a corrupt-record error naming `key`.
    pub(super) fn reply<T: redis::FromRedisValue>(&self, key: &str, value: Value) -> Result<T, StorageError> {
        redis::from_redis_value(value)
            .map_err(|e| StorageError::Corrupt { key: key.to_string(), reason: e.to_string() })
    }

    /// Every key matching `pattern`: `SCAN` on the server, or on every master of a cluster.
    pub(super) async fn scan_matching(
        &self,
        pattern: &str,
        batch: usize,
    ) -> Result<Vec<String>, StorageError> {
        let mut connection = self.connection()?;
        let scan = |cursor: u64| {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(batch);
            cmd
        };
        let mut keys = Vec::new();
        match &mut connection {
            Connection::Single(_) => {
                let mut cursor = 0u64;
                loop {
                    let (next, found): (u64, Vec<String>) =
                        self.bounded(scan(cursor).query_async(&mut connection)).await?;
                    keys.extend(found);
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
            }
            Connection::Cluster(cluster) => {
                let nodes: String =
                    self.bounded(redis::cmd("CLUSTER").arg("NODES").query_async(cluster)).await?;
                for (host, port) in masters(&nodes) {
                    let mut cursor = 0u64;
                    loop {
                        let at = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                            host: host.clone(),
                            port,
                        });
                        let value = self.bounded(cluster.route_command(scan(cursor), at)).await?;
                        let (next, found): (u64, Vec<String>) = self.reply(pattern, value)?;
                        keys.extend(found);
                        if next == 0 {
                            break;
                        }
                        cursor = next;
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masters_from_cluster_nodes() {
        let nodes = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002 master - 0 1 2 connected 5461-10922
c3 127.0.0.1:7003@17003 slave b2 0 1 2 connected
d4 127.0.0.1:7004@17004 master,fail - 0 1 4 disconnected
e5 [::1]:7005@17005 master - 0 1 5 connected 10923-16383
";
        assert_eq!(
            super::masters(nodes),
            vec![("127.0.0.1".into(), 7001), ("127.0.0.1".into(), 7002), ("::1".into(), 7005)]
        );
    }
}
