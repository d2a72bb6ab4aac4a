//! The terminal of an interactive `stackc exec`: raw mode (keys go to the
//! command as typed, Ctrl-C included) and the window size. The only unsafe
//! code of stackc: three libc calls on our own stdin and stdout.

/// Raw mode on stdin until dropped, which restores the settings found.
pub(crate) struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    /// `None` when stdin is no terminal or refuses.
    pub(crate) fn enter() -> Option<RawMode> {
        // SAFETY: tcgetattr and tcsetattr only read and write the termios
        // struct we own; fd 0 is ours, and a failure is a return code.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
                return None;
            }
            Some(RawMode { saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: as above; restores what `enter` found.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

/// The size of the terminal on stdout: (columns, rows).
pub(crate) fn size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ writes a winsize struct we own.
    let ws = unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) != 0 {
            return None;
        }
        ws
    };
    (ws.ws_col > 0 && ws.ws_row > 0).then_some((ws.ws_col, ws.ws_row))
}
