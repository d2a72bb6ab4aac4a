//! The stack's lock: taken before anything changes, and always released.

use std::time::{Duration, Instant};

use crate::apply::Interrupt;
use crate::engine::{Engine, EngineError, Holder, Lock};

/// Why a stack's lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    Held(Holder),
    Engine(EngineError),
    /// Ctrl-C while waiting for it.
    Interrupted,
}

/// Takes the stack's lock, waiting up to `timeout` for a holder to release
/// it (`on_wait` is told once who holds it).
pub async fn lock(
    engine: &dyn Engine,
    stack: &str,
    holder: &Holder,
    timeout: Duration,
    on_wait: impl Fn(&Holder),
) -> Result<(), LockError> {
    acquire(
        engine,
        stack,
        holder,
        timeout,
        on_wait,
        &Interrupt::default(),
    )
    .await
}

/// [`lock`], giving up at Ctrl-C. Only the wait between attempts is cut
/// short: an attempt runs to its end, so a lock the engine granted is known.
async fn acquire(
    engine: &dyn Engine,
    stack: &str,
    holder: &Holder,
    timeout: Duration,
    on_wait: impl Fn(&Holder),
    interrupt: &Interrupt,
) -> Result<(), LockError> {
    let deadline = Instant::now() + timeout;
    let mut told = false;
    loop {
        match engine
            .lock(stack, holder)
            .await
            .map_err(LockError::Engine)?
        {
            Lock::Acquired => return Ok(()),
            Lock::HeldBy(other) => {
                // A holder that has ended never releases it: no use waiting.
                if Instant::now() >= deadline || other.is_gone() {
                    return Err(LockError::Held(other));
                }
                if !told {
                    on_wait(&other);
                    told = true;
                }
                let pause = Duration::from_millis(500).min(deadline - Instant::now());
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = interrupt.first_press() => return Err(LockError::Interrupted),
                }
            }
        }
    }
}

/// What [`locked`] ended with.
pub enum Locked<T> {
    /// The work ran to its end (the lock was taken and is released).
    Done(T),
    /// The lock was not taken (or Ctrl-C came first): nothing was done.
    NotTaken(LockError),
    /// Ctrl-C pressed twice during the work: it was abandoned where it stood.
    Aborted,
}

/// Runs `work` holding the stack's lock, and releases the lock however the
/// work ends — also when it is abandoned on a second Ctrl-C.
pub async fn locked<T>(
    engine: &dyn Engine,
    stack: &str,
    holder: &Holder,
    timeout: Duration,
    on_wait: impl Fn(&Holder),
    interrupt: &Interrupt,
    work: impl Future<Output = T>,
) -> Locked<T> {
    if let Err(e) = acquire(engine, stack, holder, timeout, on_wait, interrupt).await {
        return Locked::NotTaken(e);
    }
    let ended = tokio::select! {
        done = work => Locked::Done(done),
        () = interrupt.aborted() => Locked::Aborted,
    };
    // A failed unlock leaves a lock that `stackc unlock` breaks; the work's
    // own result is what the user needs to see.
    let _ = engine.unlock(stack).await;
    ended
}

/// What `stackc unlock` did.
#[derive(Debug, PartialEq)]
pub enum Unlocked {
    /// The lock was broken; it was held by this holder.
    Broken(Holder),
    /// There was no lock.
    NotLocked,
}

/// Breaks a stack's lock — but not one held by a process of this host that
/// is still running (its apply is under way), unless `force`. A holder on
/// another host cannot be checked: it is named, so the user knows whose
/// lock was broken.
pub async fn break_lock(
    engine: &dyn Engine,
    stack: &str,
    force: bool,
) -> Result<Unlocked, super::SessionError> {
    // Taking the lock tells whether someone holds it, and who.
    match engine.lock(stack, &Holder::me("unlock")).await? {
        Lock::Acquired => {
            engine.unlock(stack).await?;
            Ok(Unlocked::NotLocked)
        }
        Lock::HeldBy(holder) if holder.is_running_here() && !force => {
            Err(super::SessionError::LockInUse {
                stack: stack.to_string(),
                holder,
            })
        }
        Lock::HeldBy(holder) => {
            engine.unlock(stack).await?;
            Ok(Unlocked::Broken(holder))
        }
    }
}
