//! The Docker engine, through bollard.

use async_trait::async_trait;

use super::*;

/// A Docker engine, found the way the docker CLI finds it.
pub struct DockerEngine {
    host: String,
}

impl DockerEngine {
    /// Connects to `host` (`unix:///…`, `tcp://…`), else `DOCKER_HOST`, else the
    /// local socket, and negotiates the API version once.
    pub async fn connect(host: Option<&str>) -> Result<DockerEngine, EngineError> {
        let host = host
            .map(str::to_string)
            .or_else(|| std::env::var("DOCKER_HOST").ok())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
        Err(EngineError::new(
            ErrorKind::Unavailable,
            format!("not implemented yet: {host}"),
        ))
    }
}

fn todo() -> EngineError {
    EngineError::new(ErrorKind::Other, "not implemented yet")
}

#[async_trait]
impl Engine for DockerEngine {
    fn describe(&self) -> String {
        self.host.clone()
    }

    async fn observe(
        &self,
        _stack: &str,
        _image_refs: &[String],
    ) -> Result<LiveState, EngineError> {
        Err(todo())
    }

    async fn create(&self, _stack: &str, _resource: &Resource) -> Result<String, EngineError> {
        Err(todo())
    }

    async fn start(&self, _id: &str) -> Result<(), EngineError> {
        Err(todo())
    }

    async fn update(&self, _id: &str, _run: &RunSpec, _restart: &str) -> Result<(), EngineError> {
        Err(todo())
    }

    async fn stop(&self, _id: &str, _timeout: Millis) -> Result<(), EngineError> {
        Err(todo())
    }

    async fn remove(&self, _object: &LiveObject) -> Result<(), EngineError> {
        Err(todo())
    }

    async fn state(&self, _id: &str) -> Result<State, EngineError> {
        Err(todo())
    }

    async fn lock(&self, _stack: &str, _holder: &Holder) -> Result<Lock, EngineError> {
        Err(todo())
    }

    async fn unlock(&self, _stack: &str) -> Result<bool, EngineError> {
        Err(todo())
    }

    async fn write_record(
        &self,
        _stack: &str,
        _record: Option<&Record>,
    ) -> Result<(), EngineError> {
        Err(todo())
    }
}
